// The sender's claims on deliveries, each round a few set-based statements: leases that ran out put in
// doubt (and a dead sender's deliveries, through the queue's liveness), deliveries in doubt claimed to be
// looked up, and due deliveries claimed to be sent after the claim rules (sms-rules.ts).
import { and, inArray, sql } from 'drizzle-orm';
import { columnNames, decodeCount, decodeId, rows, type Database } from '../../db/index.js';
import type { Logger } from '../../logging.js';
import { ownedBy, type LeaseReleaser } from '../../queue/index.js';
import { startOfSwedishDay } from '../quiet-hours.js';
import {
  citizenChannelSettings as settings,
  notificationDeliveries as deliveries,
  notificationDeliveryMessages as deliveryMessages,
} from '../schema.js';
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
// The raw statements name tables and columns through the schema (a renamed column no longer compiles).
const d = columnNames(deliveries);
const m = columnNames(deliveryMessages);
const s = columnNames(settings);
/** A time in milliseconds since the epoch, as the statements below answer it (bigint: text or number). */
const msDate = (value: string | number): Date => new Date(decodeId(value));

/**
 * The sender's releaser for the queue's liveness: the deliveries a dead sender was handing over are in
 * doubt from now (and its claims on deliveries in doubt are free again).
 */
export const releaseDeadSenders: LeaseReleaser = {
  name: 'deliveries',
  async release(tx, deadProcesses) {
    const released = await tx
      .update(deliveries)
      .set({
        lastError: sql`case when ${deliveries.status} = 'sending' then 'sender_stopped'
                       else ${deliveries.lastError} end`,
        status: 'in_doubt',
        leaseOwner: null,
        leaseUntil: null,
      })
      .where(
        and(
          sql`${deliveries.status} in ('sending', 'in_doubt')`,
          sql`${deliveries.leaseOwner} is not null`,
          ownedBy(deliveries.leaseOwner, deadProcesses),
        ),
      )
      .returning({ id: deliveries.id });
    return released.length;
  },
};

/** A delivery still `sending` after its lease ran out: its sender stopped while talking to the provider. */
export async function expireLeases(context: ClaimContext, at: Date): Promise<number> {
  const expired = await context.database.orm
    .update(deliveries)
    .set({ status: 'in_doubt', lastError: 'lease_expired', leaseOwner: null, leaseUntil: null, updatedAt: at })
    .where(and(sql`${deliveries.status} = 'sending'`, sql`${deliveries.leaseUntil} < ${instant(at)}`))
    .returning({ id: deliveries.id, channel: deliveries.channel });
  for (const row of expired) {
    context.log.warn(
      { delivery: row.id, channel: row.channel },
      'a sender stopped while sending; the delivery is in doubt and is looked up at the provider',
    );
  }
  return expired.length;
}

/** Deliveries in doubt that are due, claimed under a lease for settling (another sender may be at it). */
export async function claimInDoubt(context: ClaimContext, at: Date): Promise<InDoubtDelivery[]> {
  const { workerId, leaseMs, batchSize } = context;
  return context.database.orm.transaction(async (tx) => {
    const due = (
      await rows<{
        id: number | string;
        channel: Channel;
        recipient: string | null;
        created_ms: number | string;
        claimed_ms: number | string | null;
        message_count: number | string;
      }>(
        tx,
        sql`select d.${d.id}, d.${d.channel}, d.${d.recipient},
                   floor(extract(epoch from d.${d.createdAt}) * 1000)::bigint as created_ms,
                   floor(extract(epoch from d.${d.claimedAt}) * 1000)::bigint as claimed_ms,
                   (select count(*) from ${deliveryMessages} m where m.${m.deliveryId} = d.${d.id}) as message_count
              from ${deliveries} d
             where d.${d.status} = 'in_doubt' and d.${d.notBefore} <= ${instant(at)}
               and (d.${d.leaseUntil} is null or d.${d.leaseUntil} < ${instant(at)})
             order by d.${d.notBefore}, d.${d.id}
             limit ${batchSize}
             for update skip locked`,
      )
    ).map((row) => ({
      id: decodeId(row.id),
      channel: row.channel,
      recipient: row.recipient,
      createdAt: msDate(row.created_ms),
      claimedAt: row.claimed_ms === null ? undefined : msDate(row.claimed_ms),
      messageCount: decodeCount(row.message_count),
    }));
    if (due.length === 0) return [];
    await tx
      .update(deliveries)
      .set({ leaseOwner: workerId, leaseUntil: new Date(at.getTime() + leaseMs) })
      .where(
        inArray(
          deliveries.id,
          due.map((row) => row.id),
        ),
      );
    return due.map((row) => ({
      id: row.id,
      channel: row.channel,
      recipient: row.recipient ?? '',
      reference: deliveryReference(row.id, row.createdAt),
      claimedAt: row.claimedAt ?? row.createdAt,
      messageCount: row.messageCount,
    }));
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
    const due = (
      await rows<{
        id: number | string;
        channel: Channel;
        attempts: number;
        created_ms: number | string;
        target: string | null;
        sms_today: number | string;
        message_count: number | string;
      }>(
        tx,
        sql`select d.${d.id}, d.${d.channel}, d.${d.attempts},
                   floor(extract(epoch from d.${d.createdAt}) * 1000)::bigint as created_ms,
                   case when d.${d.channel} = 'sms' then case when s.${s.smsEnabled} then s.${s.smsPhone} end
                        else case when s.${s.emailEnabled} then s.${s.emailAddress} end end as target,
                   case when d.${d.channel} = 'sms' then
                     (select count(*) from ${deliveries} c
                       where c.${d.resident} = d.${d.resident} and c.${d.channel} = 'sms'
                         and c.${d.status} in (${list(SMS_COUNTED_STATUSES)})
                         and coalesce(c.${d.sentAt}, c.${d.updatedAt}) >= ${instant(startOfSwedishDay(at))})
                   else 0 end as sms_today,
                   (select count(*) from ${deliveryMessages} m where m.${m.deliveryId} = d.${d.id}) as message_count
              from ${deliveries} d
              left join ${settings} s on s.${s.resident} = d.${d.resident}
             where d.${d.status} = 'pending' and d.${d.notBefore} <= ${instant(at)}
             order by d.${d.notBefore}, d.${d.id}
             limit ${batchSize}
             for update of d skip locked`,
      )
    ).map((row) => ({
      id: decodeId(row.id),
      channel: row.channel,
      attempts: decodeCount(row.attempts),
      createdAt: msDate(row.created_ms),
      target: row.target,
      smsToday: decodeCount(row.sms_today),
      messageCount: decodeCount(row.message_count),
    }));
    const cancelled: number[] = [];
    const held = new Map<string, { until: Date; ids: number[] }>();
    const claimed: ClaimedDelivery[] = [];
    for (const row of due) {
      const { id } = row;
      const decision = decideClaim({ channel: row.channel, target: row.target, smsSentToday: row.smsToday }, at, rules);
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
          attempts: row.attempts + 1,
          reference: deliveryReference(id, row.createdAt),
          messageCount: row.messageCount,
        });
      }
    }
    if (cancelled.length > 0) {
      await tx
        .update(deliveries)
        .set({ status: 'cancelled', lastError: 'channel_off', updatedAt: at })
        .where(inArray(deliveries.id, cancelled));
    }
    for (const [reason, group] of held) {
      await tx
        .update(deliveries)
        .set({ notBefore: group.until, lastError: reason, updatedAt: at })
        .where(inArray(deliveries.id, group.ids));
    }
    if (claimed.length > 0) {
      const values = sql.join(
        claimed.map((delivery) => sql`(${delivery.id}::bigint, ${delivery.recipient}::text)`),
        sql`, `,
      );
      await tx.execute(
        sql`update ${deliveries} d
               set ${d.status} = 'sending', ${d.attempts} = d.${d.attempts} + 1, ${d.leaseOwner} = ${workerId},
                   ${d.claimedAt} = ${instant(at)}, ${d.leaseUntil} = ${instant(new Date(at.getTime() + leaseMs))},
                   ${d.recipient} = v.recipient, ${d.updatedAt} = ${instant(at)}
              from (values ${values}) as v(id, recipient)
             where d.${d.id} = v.id`,
      );
    }
    counts.cancelled += cancelled.length;
    counts.held += [...held.values()].reduce((sum, group) => sum + group.ids.length, 0);
    return claimed;
  });
}
