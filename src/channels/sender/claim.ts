// The sender's claims on deliveries, each round a few set-based statements: leases that ran out put in
// doubt (and a dead sender's deliveries, through the queue's liveness), deliveries in doubt claimed to be
// looked up, and due deliveries claimed to be sent after the claim rules (sms-rules.ts).
import { sql } from 'drizzle-orm';
import { rows, type Database } from '../../db/index.js';
import type { Logger } from '../../logging.js';
import { ownedBy, type LeaseReleaser } from '../../queue/index.js';
import { startOfSwedishDay } from '../quiet-hours.js';
import { decideClaim, SMS_COUNTED_STATUSES, type Channel, type SmsRules } from './sms-rules.js';
import { deliveryReference, instant } from './rules.js';

export interface ClaimContext {
  database: Database;
  log: Logger;
  workerId: string;
  leaseMs: number;
  batchSize: number;
}

export interface ClaimedDelivery {
  id: number;
  channel: Channel;
  recipient: string;
  attempts: number;
  reference: string;
  messageCount: number;
}

export interface InDoubtDelivery {
  id: number;
  channel: Channel;
  recipient: string;
  reference: string;
  claimedAt: Date;
  messageCount: number;
}

export interface ClaimCounts {
  held: number;
  cancelled: number;
}

const list = (values: readonly string[]) => sql.raw(values.map((value) => `'${value}'`).join(', '));
const ids = (values: readonly number[]) =>
  sql.join(
    values.map((id) => sql`${id}`),
    sql`, `,
  );

/**
 * The sender's releaser for the queue's liveness: the deliveries a dead sender was handing over are in
 * doubt from now (and its claims on deliveries in doubt are free again).
 */
export const releaseDeadSenders: LeaseReleaser = {
  name: 'deliveries',
  async release(tx, deadProcesses) {
    const released = await rows<{ id: number }>(
      tx,
      sql`update notification_delivery
             set last_error = case when status = 'sending' then 'sender_stopped' else last_error end,
                 status = 'in_doubt', lease_owner = null, lease_until = null
           where status in ('sending', 'in_doubt') and lease_owner is not null and ${ownedBy(sql.raw('lease_owner'), deadProcesses)}
       returning id`,
    );
    return released.length;
  },
};

/** A delivery still `sending` after its lease ran out: its sender stopped while talking to the provider. */
export async function expireLeases(context: ClaimContext, at: Date): Promise<number> {
  const expired = await rows<{ id: number; channel: string }>(
    context.database.orm,
    sql`update notification_delivery
           set status = 'in_doubt', last_error = 'lease_expired', lease_owner = null, lease_until = null, updated_at = ${instant(at)}
         where status = 'sending' and lease_until < ${instant(at)}
     returning id, channel`,
  );
  for (const row of expired) {
    context.log.warn(
      { delivery: Number(row.id), channel: row.channel },
      'a sender stopped while sending; the delivery is in doubt and is looked up at the provider',
    );
  }
  return expired.length;
}

/** Deliveries in doubt that are due, claimed under a lease for settling (another sender may be at it). */
export async function claimInDoubt(context: ClaimContext, at: Date): Promise<InDoubtDelivery[]> {
  const { workerId, leaseMs, batchSize } = context;
  return context.database.orm.transaction(async (tx) => {
    const due = await rows<{
      id: number;
      channel: Channel;
      recipient: string | null;
      created_ms: number | string;
      claimed_ms: number | string | null;
      message_count: number | string;
    }>(
      tx,
      sql`select d.id, d.channel, d.recipient, floor(extract(epoch from d.created_at) * 1000)::bigint as created_ms,
                 floor(extract(epoch from d.claimed_at) * 1000)::bigint as claimed_ms,
                 (select count(*) from notification_delivery_message m where m.delivery_id = d.id) as message_count
            from notification_delivery d
           where d.status = 'in_doubt' and d.not_before <= ${instant(at)} and (d.lease_until is null or d.lease_until < ${instant(at)})
           order by d.not_before, d.id
           limit ${batchSize}
           for update skip locked`,
    );
    if (due.length === 0) return [];
    await tx.execute(
      sql`update notification_delivery set lease_owner = ${workerId}, lease_until = ${instant(new Date(at.getTime() + leaseMs))}
           where id in (${ids(due.map((row) => Number(row.id)))})`,
    );
    return due.map((row) => {
      const id = Number(row.id);
      const createdAt = new Date(Number(row.created_ms));
      return {
        id,
        channel: row.channel,
        recipient: row.recipient ?? '',
        reference: deliveryReference(id, createdAt),
        claimedAt: row.claimed_ms === null ? createdAt : new Date(Number(row.claimed_ms)),
        messageCount: Number(row.message_count),
      };
    });
  });
}

/** Due deliveries: cancelled, held or claimed (`pending` -> `sending`) as decideClaim says. */
export async function claimDue(
  context: ClaimContext,
  rules: SmsRules,
  at: Date,
  counts: ClaimCounts,
): Promise<ClaimedDelivery[]> {
  const { database, log, workerId, leaseMs, batchSize } = context;
  return database.orm.transaction(async (tx) => {
    // One statement reads each due delivery with what its decision needs: the citizen's current address on
    // its channel, the SMS counted today, and how many messages it tells of.
    const due = await rows<{
      id: number;
      channel: Channel;
      attempts: number;
      created_ms: number | string;
      target: string | null;
      sms_today: number | string;
      message_count: number | string;
    }>(
      tx,
      sql`select d.id, d.channel, d.attempts, floor(extract(epoch from d.created_at) * 1000)::bigint as created_ms,
                 case when d.channel = 'sms' then case when s.sms_enabled then s.sms_phone end
                      else case when s.email_enabled then s.email_address end end as target,
                 case when d.channel = 'sms' then
                   (select count(*) from notification_delivery c
                     where c.resident = d.resident and c.channel = 'sms' and c.status in (${list(SMS_COUNTED_STATUSES)})
                       and coalesce(c.sent_at, c.updated_at) >= ${instant(startOfSwedishDay(at))})
                 else 0 end as sms_today,
                 (select count(*) from notification_delivery_message m where m.delivery_id = d.id) as message_count
            from notification_delivery d
            left join citizen_channel_settings s on s.resident = d.resident
           where d.status = 'pending' and d.not_before <= ${instant(at)}
           order by d.not_before, d.id
           limit ${batchSize}
           for update of d skip locked`,
    );
    const cancelled: number[] = [];
    const held = new Map<string, { until: Date; ids: number[] }>();
    const claimed: ClaimedDelivery[] = [];
    for (const row of due) {
      const id = Number(row.id);
      const decision = decideClaim(
        { channel: row.channel, target: row.target, smsSentToday: Number(row.sms_today) },
        at,
        rules,
      );
      if (decision.kind === 'cancel') {
        cancelled.push(id);
        log.info({ delivery: id, channel: row.channel }, 'notification cancelled: the channel is turned off');
      } else if (decision.kind === 'hold') {
        const group = held.get(decision.reason) ?? { until: decision.until, ids: [] };
        group.ids.push(id);
        held.set(decision.reason, group);
        log.info(
          { delivery: id, channel: 'sms', reason: decision.reason, until: decision.until.toISOString() },
          'SMS held',
        );
      } else {
        claimed.push({
          id,
          channel: row.channel,
          recipient: decision.recipient,
          attempts: Number(row.attempts) + 1,
          reference: deliveryReference(id, new Date(Number(row.created_ms))),
          messageCount: Number(row.message_count),
        });
      }
    }
    if (cancelled.length > 0) {
      await tx.execute(
        sql`update notification_delivery set status = 'cancelled', last_error = 'channel_off', updated_at = ${instant(at)}
             where id in (${ids(cancelled)})`,
      );
    }
    for (const [reason, group] of held) {
      await tx.execute(
        sql`update notification_delivery set not_before = ${instant(group.until)}, last_error = ${reason}, updated_at = ${instant(at)}
             where id in (${ids(group.ids)})`,
      );
    }
    if (claimed.length > 0) {
      const values = sql.join(
        claimed.map((delivery) => sql`(${delivery.id}::bigint, ${delivery.recipient}::text)`),
        sql`, `,
      );
      await tx.execute(
        sql`update notification_delivery d
               set status = 'sending', attempts = d.attempts + 1, lease_owner = ${workerId}, claimed_at = ${instant(at)},
                   lease_until = ${instant(new Date(at.getTime() + leaseMs))}, recipient = v.recipient, updated_at = ${instant(at)}
              from (values ${values}) as v(id, recipient)
             where d.id = v.id`,
      );
    }
    counts.cancelled += cancelled.length;
    counts.held += [...held.values()].reduce((sum, group) => sum + group.ids.length, 0);
    return claimed;
  });
}
