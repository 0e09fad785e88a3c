// The sender: its own loop over its own tables, separate from message creation, so that an SMTP or Twilio
// outage never delays an inbox message. Each round:
//   1. expire:  a delivery still `sending` after its lease ran out belonged to a sender that stopped
//               while talking to the provider (a dead sender's deliveries get there sooner: the queue's
//               liveness hands them to releaseDeadSenders). It may or may not have gone out: `in_doubt`.
//   1b. settle: a delivery in doubt is looked up at the provider (Twilio's message list by recipient and
//               time, the outbox file): found, it is recorded and not sent again; not found, it is sent
//               again. A provider that cannot be asked (SMTP) gets it again, with the same Message-ID.
//   2. plan:    the waiting notification requests of a citizen whose oldest request is at least
//               NOTIFY_DIGEST_SECONDS old become one delivery per enabled channel; a delivery still waiting
//               for that citizen and channel (quiet hours, daily cap, backoff) takes them in instead.
//   3. claim:   due deliveries are claimed under a lease (`pending` -> `sending`), after the SMS rules:
//               quiet hours hold an SMS until they end, the daily cap until the next Swedish day.
//   4. send:    outside any transaction; the provider's answer is recorded (`queued`/`sent`), a transient
//               failure goes back to `pending` with backoff, a permanent one is `failed`.
// One message never leads to the same SMS or e-mail twice: notification_delivery_message holds one row per
// message and channel (primary key), and a delivery leaves `pending` only through a claim.
import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { rows, type Database, type Executor } from '../db/index.js';
import type { Logger } from '../logging.js';
import { ChannelError, type EmailChannel, type SentMessage, type SmsChannel } from './providers/types.js';
import { endOfQuietHours, isQuiet, nextSwedishDayForSms, startOfSwedishDay, type QuietHours } from './quiet-hours.js';
import type { DoubtSettlement } from './schema.js';
import type { NotificationTexts } from './texts.js';
import { ownedBy, type LeaseReleaser } from '../queue/index.js';

export type Channel = 'sms' | 'email';

export interface SenderOptions {
  database: Database;
  log: Logger;
  sms: SmsChannel;
  email: EmailChannel;
  texts: NotificationTexts;
  /** NOTIFY_DIGEST_SECONDS: requests of one citizen within this window share one SMS / e-mail. */
  digestSeconds: number;
  /** SMS_QUIET_HOURS, Swedish local time; undefined: none. */
  quietHours: QuietHours | undefined;
  /** SMS_DAILY_CAP: SMS per citizen per Swedish day. */
  smsDailyCap: number;
  /** The clock (tests inject one); every time rule reads it, never the database's now(). */
  now?: () => Date;
  /** Pause between rounds; 0: no loop, the caller runs rounds with runOnce() (tests). Default 1000. */
  pollMs?: number;
  /** How long a claim lasts; must outlast the providers' timeouts (15-20 s). Default 2 minutes. */
  leaseMs?: number;
  /** Attempts before a transiently failing delivery is given up (`failed`, `gave_up:<code>`). Default 10. */
  maxAttempts?: number;
  /** Wait before attempt n+1 after n failures. Default 30 s doubling, at most 30 minutes. */
  backoffMs?: (attempts: number) => number;
  /** Deliveries claimed per round. Default 20. */
  batchSize?: number;
  workerId?: string;
  /** Told of each hand-over to a provider: its status, or `retried` / `failed` (metrics). */
  onSent?: (event: { channel: Channel; status: string }) => void;
  /** Told of each delivery in doubt once settled (metrics). */
  onDoubtSettled?: (event: { channel: Channel; settled: DoubtSettlement }) => void;
  /**
   * False while this process's own heartbeat is late (src/queue/liveness.ts): others may already take it
   * for dead and settle its deliveries, so it hands nothing over meanwhile. Default: always true.
   */
  mayHandOver?: () => boolean;
  /** How long a delivery in doubt is looked up before it is left `unknown`. Default 24 hours. */
  doubtLookupMs?: number;
}

export interface SenderRound {
  expired: number;
  /** Deliveries in doubt settled this round (found at the provider, put back to be sent, given up). */
  settled: number;
  planned: number;
  held: number;
  cancelled: number;
  sent: number;
  retried: number;
  failed: number;
}

export interface ChannelSender {
  /** One round of expire, plan, claim and send; rounds never overlap. */
  runOnce(): Promise<SenderRound>;
  /** Stops the loop and waits for the round in hand. */
  stop(): Promise<void>;
}

export const DEFAULT_SMS_DAILY_CAP = 5;

/** A timestamptz parameter; ISO text, because the postgres driver (under drizzle) does not take a Date. */
export function instant(value: Date): SQL {
  return sql`${value.toISOString()}::timestamptz`;
}

export function defaultBackoffMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 30 * 60_000);
}

interface ClaimedDelivery {
  id: number;
  channel: Channel;
  recipient: string;
  attempts: number;
  reference: string;
  messageCount: number;
}

interface InDoubtDelivery {
  id: number;
  channel: Channel;
  recipient: string;
  reference: string;
  claimedAt: Date;
  messageCount: number;
}

interface ChannelTargets {
  sms: string | null;
  email: string | null;
}

/** A delivery's reference towards providers: stable over its attempts, unique also across database resets. */
export function deliveryReference(id: number, createdAt: Date): string {
  return `${id}-${createdAt.getTime().toString(36)}`;
}

/** The delivery id in a reference (from a status callback); undefined if it is not one of ours. */
export function deliveryIdOf(reference: string): number | undefined {
  const match = /^([1-9][0-9]{0,15})-[0-9a-z]+$/.exec(reference);
  return match ? Number(match[1]) : undefined;
}

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

export function startChannelSender(options: SenderOptions): ChannelSender {
  const { database, log } = options;
  const now = options.now ?? (() => new Date());
  const leaseMs = options.leaseMs ?? 120_000;
  const maxAttempts = options.maxAttempts ?? 10;
  const backoffMs = options.backoffMs ?? defaultBackoffMs;
  const batchSize = options.batchSize ?? 20;
  const workerId = options.workerId ?? `sender-${randomUUID()}`;
  const pollMs = options.pollMs ?? 1000;
  const doubtLookupMs = options.doubtLookupMs ?? 24 * 60 * 60_000;

  async function expireLeases(at: Date): Promise<number> {
    const expired = await rows<{ id: number; channel: string }>(
      database.orm,
      sql`update notification_delivery
             set status = 'in_doubt', last_error = 'lease_expired', lease_owner = null, lease_until = null, updated_at = ${instant(at)}
           where status = 'sending' and lease_until < ${instant(at)}
       returning id, channel`,
    );
    for (const row of expired) {
      log.warn(
        { delivery: Number(row.id), channel: row.channel },
        'a sender stopped while sending; the delivery is in doubt and is looked up at the provider',
      );
    }
    return expired.length;
  }

  async function messageCountOf(executor: Executor, id: number): Promise<number> {
    const [count] = await rows<{ count: number | string }>(
      executor,
      sql`select count(*) as count from notification_delivery_message where delivery_id = ${id}`,
    );
    return Number(count?.count ?? 1);
  }

  /** Deliveries in doubt that are due, claimed under a lease for settling (another sender may be at it). */
  async function claimInDoubt(at: Date): Promise<InDoubtDelivery[]> {
    return database.orm.transaction(async (tx) => {
      const due = await rows<{ id: number; channel: Channel; recipient: string | null; created_ms: number | string; claimed_ms: number | string | null }>(
        tx,
        sql`select id, channel, recipient, floor(extract(epoch from created_at) * 1000)::bigint as created_ms,
                   floor(extract(epoch from claimed_at) * 1000)::bigint as claimed_ms
              from notification_delivery
             where status = 'in_doubt' and not_before <= ${instant(at)} and (lease_until is null or lease_until < ${instant(at)})
             order by not_before, id
             limit ${batchSize}
             for update skip locked`,
      );
      const claimed: InDoubtDelivery[] = [];
      for (const row of due) {
        const id = Number(row.id);
        await tx.execute(
          sql`update notification_delivery set lease_owner = ${workerId}, lease_until = ${instant(new Date(at.getTime() + leaseMs))} where id = ${id}`,
        );
        const createdAt = new Date(Number(row.created_ms));
        claimed.push({
          id,
          channel: row.channel,
          recipient: row.recipient ?? '',
          reference: deliveryReference(id, createdAt),
          claimedAt: row.claimed_ms === null ? createdAt : new Date(Number(row.claimed_ms)),
          messageCount: await messageCountOf(tx, id),
        });
      }
      return claimed;
    });
  }

  /**
   * Back to `pending` to be claimed and sent again (a newer waiting delivery is folded into it). Its
   * not_before is still the one it was first due at: it goes ahead of deliveries that came later.
   */
  async function sendAgain(delivery: InDoubtDelivery, settled: DoubtSettlement, at: Date): Promise<void> {
    await database.orm.transaction(async (tx) => {
      await foldWaiting(tx, delivery.id);
      await tx.execute(
        sql`update notification_delivery
               set status = 'pending', doubt_settled_by = ${settled},
                   lease_owner = null, lease_until = null, updated_at = ${instant(at)}
             where id = ${delivery.id} and status = 'in_doubt' and lease_owner = ${workerId}`,
      );
    });
  }

  async function settleInDoubt(delivery: InDoubtDelivery, at: Date): Promise<DoubtSettlement | undefined> {
    const provider = delivery.channel === 'sms' ? options.sms : options.email;
    if (!provider.findSent) {
      // SMTP cannot be asked what it received: a duplicate pointer (same Message-ID) is harmless, a
      // missing one is not.
      await sendAgain(delivery, 'resent', at);
      return 'resent';
    }
    let found: SentMessage[];
    try {
      found = await provider.findSent({
        to: delivery.recipient,
        reference: delivery.reference,
        since: delivery.claimedAt,
        ...(delivery.channel === 'sms' ? { body: options.texts.sms(delivery.messageCount) } : {}),
      });
    } catch (error) {
      const code = error instanceof ChannelError ? error.code : 'internal';
      const givingUp = at.getTime() - delivery.claimedAt.getTime() >= doubtLookupMs;
      await database.orm.execute(
        givingUp
          ? sql`update notification_delivery
                   set status = 'unknown', doubt_settled_by = 'gave_up', last_error = ${`lookup:${code}`},
                       lease_owner = null, lease_until = null, updated_at = ${instant(at)}
                 where id = ${delivery.id} and status = 'in_doubt' and lease_owner = ${workerId}`
          : sql`update notification_delivery
                   set not_before = ${instant(new Date(at.getTime() + backoffMs(1)))}, last_error = ${`lookup:${code}`},
                       lease_owner = null, lease_until = null, updated_at = ${instant(at)}
                 where id = ${delivery.id} and status = 'in_doubt' and lease_owner = ${workerId}`,
      );
      log.warn({ delivery: delivery.id, channel: delivery.channel, code, givingUp }, 'a delivery in doubt could not be looked up');
      return givingUp ? 'gave_up' : undefined;
    }
    // Not one that another delivery of ours already accounts for (two deliveries to one number, close together).
    const known = found.length === 0 ? [] : await rows<{ provider_id: string }>(
      database.orm,
      sql`select provider_id from notification_delivery
           where channel = ${delivery.channel} and id <> ${delivery.id}
             and provider_id in (${sql.join(found.map((message) => sql`${message.id}`), sql`, `)})`,
    );
    const ours = found.find((message) => !known.some((row) => row.provider_id === message.id));
    if (!ours) {
      await sendAgain(delivery, 'not_found', at);
      return 'not_found';
    }
    await database.orm.execute(
      sql`update notification_delivery
             set status = ${ours.status}, provider_status = ${ours.providerStatus}, provider_id = ${ours.id},
                 sent_at = ${instant(ours.date)}, doubt_settled_by = 'found', last_error = null,
                 lease_owner = null, lease_until = null, updated_at = ${instant(at)}
           where id = ${delivery.id} and status = 'in_doubt' and lease_owner = ${workerId}`,
    );
    return 'found';
  }

  async function settleAllInDoubt(at: Date): Promise<number> {
    const claimed = await claimInDoubt(at);
    let settled = 0;
    await Promise.all(
      claimed.map(async (delivery) => {
        const outcome = await settleInDoubt(delivery, at);
        if (!outcome) return;
        settled++;
        options.onDoubtSettled?.({ channel: delivery.channel, settled: outcome });
        log.info({ delivery: delivery.id, channel: delivery.channel, settled: outcome }, 'a delivery in doubt is settled');
      }),
    );
    return settled;
  }

  /**
   * While a delivery was out, newer messages may have opened a new waiting delivery for the same citizen
   * and channel; folding it into this one keeps one SMS / e-mail (and the unique index) intact.
   */
  async function foldWaiting(tx: Executor, id: number): Promise<void> {
    const [other] = await rows<{ id: number }>(
      tx,
      sql`select d.id from notification_delivery d join notification_delivery own on own.id = ${id}
           where d.resident = own.resident and d.channel = own.channel and d.status = 'pending' and d.id <> own.id
           for update of d`,
    );
    if (other) {
      await tx.execute(sql`update notification_delivery_message set delivery_id = ${id} where delivery_id = ${Number(other.id)}`);
      await tx.execute(sql`delete from notification_delivery where id = ${Number(other.id)}`);
    }
  }

  async function targetsOf(executor: Executor, resident: string): Promise<ChannelTargets> {
    const [row] = await rows<{ sms_enabled: boolean; sms_phone: string | null; email_enabled: boolean; email_address: string | null }>(
      executor,
      sql`select sms_enabled, sms_phone, email_enabled, email_address from citizen_channel_settings where resident = ${resident}`,
    );
    return {
      sms: row?.sms_enabled ? row.sms_phone : null,
      email: row?.email_enabled ? row.email_address : null,
    };
  }

  /** The citizen's waiting delivery on a channel, created if there is none; locked for this transaction. */
  async function waitingDelivery(executor: Executor, resident: string, channel: Channel, at: Date): Promise<number> {
    for (let round = 0; round < 5; round++) {
      const [created] = await rows<{ id: number }>(
        executor,
        sql`insert into notification_delivery (resident, channel, status, not_before, created_at, updated_at)
            values (${resident}, ${channel}, 'pending', ${instant(at)}, ${instant(at)}, ${instant(at)})
            on conflict (resident, channel) where status = 'pending' do nothing
            returning id`,
      );
      if (created) return Number(created.id);
      const [existing] = await rows<{ id: number }>(
        executor,
        sql`select id from notification_delivery
             where resident = ${resident} and channel = ${channel} and status = 'pending' for update`,
      );
      // Claimed between the two statements: try again, a new delivery will do.
      if (existing) return Number(existing.id);
    }
    throw new Error('could not find or create a waiting delivery');
  }

  async function plan(at: Date): Promise<number> {
    const windowStart = new Date(at.getTime() - options.digestSeconds * 1000);
    // Most citizens have no channel turned on: their requests are settled in one statement, so that a
    // bulk of messages (a care unit's initial load, a busy hour) does not queue up behind them.
    const [silent] = await rows<{ count: number | string }>(
      database.orm,
      sql`with settled as (
            update notification_request r set planned_at = ${instant(at)}
             where r.planned_at is null and r.created_at <= ${instant(windowStart)}
               and not exists (select 1 from citizen_channel_settings s
                                where s.resident = r.resident and (s.sms_enabled or s.email_enabled))
            returning 1)
          select count(*) as count from settled`,
    );
    const settledWithoutChannel = Number(silent?.count ?? 0);
    const citizens = await rows<{ resident: string }>(
      database.orm,
      sql`select resident from notification_request
           where planned_at is null
        group by resident
          having min(created_at) <= ${instant(windowStart)}
           limit 200`,
    );
    let planned = 0;
    for (const { resident } of citizens) {
      planned += await database.orm.transaction(async (tx) => {
        const requests = await rows<{ id: number; message_id: number }>(
          tx,
          sql`select id, message_id from notification_request
               where resident = ${resident} and planned_at is null
               order by id for update skip locked`,
        );
        if (requests.length === 0) return 0;
        const targets = await targetsOf(tx, resident);
        for (const channel of ['sms', 'email'] as const) {
          if (targets[channel] === null) continue;
          const deliveryId = await waitingDelivery(tx, resident, channel, at);
          for (const request of requests) {
            // The primary key (message, channel) makes a second delivery for the same message impossible.
            await tx.execute(
              sql`insert into notification_delivery_message (message_id, channel, delivery_id)
                  values (${Number(request.message_id)}, ${channel}, ${deliveryId}) on conflict do nothing`,
            );
          }
        }
        const ids = requests.map((r) => Number(r.id));
        await tx.execute(
          sql`update notification_request set planned_at = ${instant(at)}
               where id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`,
        );
        return requests.length;
      });
    }
    return planned + settledWithoutChannel;
  }

  async function smsSentToday(executor: Executor, resident: string, at: Date): Promise<number> {
    const [row] = await rows<{ count: number | string }>(
      executor,
      sql`select count(*) as count from notification_delivery
           where resident = ${resident} and channel = 'sms'
             and status in ('sending', 'queued', 'sent', 'delivered', 'undelivered', 'in_doubt', 'unknown')
             and coalesce(sent_at, updated_at) >= ${instant(startOfSwedishDay(at))}`,
    );
    return Number(row?.count ?? 0);
  }

  async function claim(at: Date, round: SenderRound): Promise<ClaimedDelivery[]> {
    return database.orm.transaction(async (tx) => {
      const due = await rows<{ id: number; resident: string; channel: Channel; attempts: number; created_ms: number | string }>(
        tx,
        sql`select id, resident, channel, attempts, floor(extract(epoch from created_at) * 1000)::bigint as created_ms
              from notification_delivery
             where status = 'pending' and not_before <= ${instant(at)}
             order by not_before, id
             limit ${batchSize}
             for update skip locked`,
      );
      const claimed: ClaimedDelivery[] = [];
      for (const delivery of due) {
        const id = Number(delivery.id);
        const target = (await targetsOf(tx, delivery.resident))[delivery.channel];
        if (target === null) {
          // Turned off (or the address removed) after the message came: the citizen's latest wish wins.
          await tx.execute(
            sql`update notification_delivery set status = 'cancelled', last_error = 'channel_off', updated_at = ${instant(at)} where id = ${id}`,
          );
          round.cancelled++;
          log.info({ delivery: id, channel: delivery.channel }, 'notification cancelled: the channel is turned off');
          continue;
        }
        if (delivery.channel === 'sms') {
          let holdUntil: Date | undefined;
          let reason = '';
          if (isQuiet(at, options.quietHours)) {
            holdUntil = endOfQuietHours(at, options.quietHours);
            reason = 'quiet_hours';
          } else if ((await smsSentToday(tx, delivery.resident, at)) >= options.smsDailyCap) {
            holdUntil = nextSwedishDayForSms(at, options.quietHours);
            reason = 'daily_cap';
          }
          if (holdUntil) {
            await tx.execute(
              sql`update notification_delivery set not_before = ${instant(holdUntil)}, last_error = ${reason}, updated_at = ${instant(at)} where id = ${id}`,
            );
            round.held++;
            log.info({ delivery: id, channel: 'sms', reason, until: holdUntil.toISOString() }, 'SMS held');
            continue;
          }
        }
        const messageCount = await messageCountOf(tx, id);
        await tx.execute(
          sql`update notification_delivery
                 set status = 'sending', attempts = attempts + 1, lease_owner = ${workerId}, claimed_at = ${instant(at)},
                     lease_until = ${instant(new Date(at.getTime() + leaseMs))}, recipient = ${target}, updated_at = ${instant(at)}
               where id = ${id}`,
        );
        claimed.push({
          id,
          channel: delivery.channel,
          recipient: target,
          attempts: Number(delivery.attempts) + 1,
          reference: deliveryReference(id, new Date(Number(delivery.created_ms))),
          messageCount,
        });
      }
      return claimed;
    });
  }

  async function recordSent(delivery: ClaimedDelivery, sent: SentMessage): Promise<void> {
    const at = now();
    // A status report may have come first (or the lease expired while the provider was slow): a later
    // word from the provider is not overwritten, a delivery in doubt is settled.
    await database.orm.execute(
      sql`update notification_delivery
             set status = case when status in ('sending', 'in_doubt', 'unknown') then ${sent.status} else status end,
                 provider_status = case when status in ('sending', 'in_doubt', 'unknown') then ${sent.providerStatus} else provider_status end,
                 provider_id = ${sent.id}, sent_at = ${instant(at)}, lease_owner = null, lease_until = null,
                 last_error = null, updated_at = ${instant(at)}
           where id = ${delivery.id}`,
    );
  }

  async function recordFailure(delivery: ClaimedDelivery, failure: ChannelError): Promise<'retried' | 'failed'> {
    const at = now();
    if (failure.kind === 'permanent' || delivery.attempts >= maxAttempts) {
      const code = failure.kind === 'permanent' ? failure.code : `gave_up:${failure.code}`;
      await database.orm.execute(
        sql`update notification_delivery
               set status = 'failed', last_error = ${code}, lease_owner = null, lease_until = null, updated_at = ${instant(at)}
             where id = ${delivery.id} and status = 'sending'`,
      );
      return 'failed';
    }
    const retryAt = new Date(at.getTime() + backoffMs(delivery.attempts));
    await database.orm.transaction(async (tx) => {
      await foldWaiting(tx, delivery.id);
      await tx.execute(
        sql`update notification_delivery
               set status = 'pending', not_before = ${instant(retryAt)}, last_error = ${failure.code},
                   lease_owner = null, lease_until = null, updated_at = ${instant(at)}
             where id = ${delivery.id} and status = 'sending'`,
      );
    });
    return 'retried';
  }

  async function send(delivery: ClaimedDelivery, round: SenderRound): Promise<void> {
    try {
      let sent: SentMessage;
      if (delivery.channel === 'sms') {
        sent = await options.sms.sendMessage({
          to: delivery.recipient,
          body: options.texts.sms(delivery.messageCount),
          reference: delivery.reference,
        });
      } else {
        sent = await options.email.sendMessage({
          to: delivery.recipient,
          ...options.texts.email(delivery.messageCount),
          reference: delivery.reference,
        });
      }
      await recordSent(delivery, sent);
      round.sent++;
      options.onSent?.({ channel: delivery.channel, status: sent.status });
      log.info(
        { delivery: delivery.id, channel: delivery.channel, status: sent.status, attempt: delivery.attempts, messages: delivery.messageCount },
        'notification handed to the provider',
      );
    } catch (error) {
      const failure =
        error instanceof ChannelError
          ? error
          : new ChannelError('transient', 'internal', error instanceof Error ? error.message : 'unexpected failure');
      const outcome = await recordFailure(delivery, failure);
      round[outcome]++;
      options.onSent?.({ channel: delivery.channel, status: outcome });
      const level = outcome === 'failed' ? 'warn' : 'info';
      log[level](
        { delivery: delivery.id, channel: delivery.channel, code: failure.code, kind: failure.kind, attempt: delivery.attempts },
        outcome === 'failed' ? 'notification failed' : 'notification will be retried',
      );
    }
  }

  async function round(): Promise<SenderRound> {
    const result: SenderRound = { expired: 0, settled: 0, planned: 0, held: 0, cancelled: 0, sent: 0, retried: 0, failed: 0 };
    const at = now();
    result.expired = await expireLeases(at);
    result.planned = await plan(at);
    // With its own heartbeat late, this sender may already be taken for dead: it hands nothing over.
    if (options.mayHandOver && !options.mayHandOver()) return result;
    result.settled = await settleAllInDoubt(at);
    const claimed = await claim(at, result);
    await Promise.all(claimed.map((delivery) => send(delivery, result)));
    return result;
  }

  let current: Promise<SenderRound> | undefined;
  function runOnce(): Promise<SenderRound> {
    // Rounds never overlap: a caller during a round waits for it, then runs its own.
    const previous = current ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(round);
    current = next;
    return next;
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  async function loop(): Promise<void> {
    if (stopped) return;
    let busy = false;
    try {
      const done = await runOnce();
      // A round that found work may have left more: go on at once rather than after pollMs.
      busy = done.planned > 0 || done.settled > 0 || done.sent + done.retried + done.failed + done.cancelled + done.held >= batchSize;
    } catch (error) {
      log.error({ err: error }, 'sender round failed; trying again');
    }
    if (!stopped) timer = setTimeout(() => void loop(), busy ? 0 : pollMs);
  }
  if (pollMs > 0) timer = setTimeout(() => void loop(), 0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current?.catch(() => undefined);
    },
  };
}
