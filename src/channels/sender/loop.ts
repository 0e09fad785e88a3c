// The sender's loop (sender/index.ts is its public face): its own loop over its own tables, separate from message
// creation, so that an SMTP or Twilio
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
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Database } from '../../db/index.js';
import type { Logger } from '../../logging.js';
import { ChannelError, type EmailChannel, type SentMessage, type SmsChannel } from '../providers/types.js';
import type { QuietHours } from '../quiet-hours.js';
import { AWAITING_PROVIDER, notificationDeliveries as d, type DoubtSettlement } from '../schema.js';
import type { NotificationTexts } from '../texts.js';
import {
  claimDue,
  claimInDoubt,
  expireLeases,
  type ClaimContext,
  type ClaimedDelivery,
  type InDoubtDelivery,
} from './claim.js';
import { foldWaiting, plan } from './plan.js';
import { defaultBackoffMs, failureOutcome } from './rules.js';
import type { Channel } from './sms-rules.js';

/** The statuses in which a provider's answer is taken (schema.ts: the one ranking). */
const AWAITING = sql.raw(AWAITING_PROVIDER.map((status) => `'${status}'`).join(', '));

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
  const context: ClaimContext = { database, log, workerId, leaseMs, batchSize };
  /** A delivery in doubt that this sender holds the lookup lease on. */
  const heldInDoubt = (id: number) => and(eq(d.id, id), eq(d.status, 'in_doubt'), eq(d.leaseOwner, workerId));

  /**
   * Back to `pending` to be claimed and sent again (a newer waiting delivery is folded into it). Its
   * not_before is still the one it was first due at: it goes ahead of deliveries that came later.
   */
  async function sendAgain(delivery: InDoubtDelivery, settled: DoubtSettlement, at: Date): Promise<void> {
    await database.orm.transaction(async (tx) => {
      await foldWaiting(tx, delivery.id);
      await tx
        .update(d)
        .set({ status: 'pending', doubtSettledBy: settled, leaseOwner: null, leaseUntil: null, updatedAt: at })
        .where(heldInDoubt(delivery.id));
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
      const released = { lastError: `lookup:${code}`, leaseOwner: null, leaseUntil: null, updatedAt: at };
      await database.orm
        .update(d)
        .set(
          givingUp
            ? { ...released, status: 'unknown', doubtSettledBy: 'gave_up' }
            : { ...released, notBefore: new Date(at.getTime() + backoffMs(1)) },
        )
        .where(heldInDoubt(delivery.id));
      log.warn(
        { delivery: delivery.id, channel: delivery.channel, code, givingUp },
        'a delivery in doubt could not be looked up',
      );
      return givingUp ? 'gave_up' : undefined;
    }
    // Not one that another delivery of ours already accounts for (two deliveries to one number, close together).
    const known =
      found.length === 0
        ? []
        : await database.orm
            .select({ providerId: d.providerId })
            .from(d)
            .where(
              and(
                eq(d.channel, delivery.channel),
                ne(d.id, delivery.id),
                inArray(
                  d.providerId,
                  found.map((message) => message.id),
                ),
              ),
            );
    const ours = found.find((message) => !known.some((row) => row.providerId === message.id));
    if (!ours) {
      await sendAgain(delivery, 'not_found', at);
      return 'not_found';
    }
    await database.orm
      .update(d)
      .set({
        status: ours.status,
        providerStatus: ours.providerStatus,
        providerId: ours.id,
        sentAt: ours.date,
        doubtSettledBy: 'found',
        lastError: null,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: at,
      })
      .where(heldInDoubt(delivery.id));
    return 'found';
  }

  async function settleAllInDoubt(at: Date): Promise<number> {
    const claimed = await claimInDoubt(context, at);
    let settled = 0;
    await Promise.all(
      claimed.map(async (delivery) => {
        const outcome = await settleInDoubt(delivery, at);
        if (!outcome) return;
        settled++;
        options.onDoubtSettled?.({ channel: delivery.channel, settled: outcome });
        log.info(
          { delivery: delivery.id, channel: delivery.channel, settled: outcome },
          'a delivery in doubt is settled',
        );
      }),
    );
    return settled;
  }

  async function recordSent(delivery: ClaimedDelivery, sent: SentMessage): Promise<void> {
    const at = now();
    // A status report may have come first (or the lease expired while the provider was slow): a later
    // word from the provider is not overwritten, a delivery in doubt is settled.
    await database.orm
      .update(d)
      .set({
        status: sql`case when ${d.status} in (${AWAITING}) then ${sent.status} else ${d.status} end`,
        providerStatus: sql`case when ${d.status} in (${AWAITING}) then ${sent.providerStatus}
                             else ${d.providerStatus} end`,
        providerId: sent.id,
        sentAt: at,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        updatedAt: at,
      })
      .where(eq(d.id, delivery.id));
  }

  async function recordFailure(delivery: ClaimedDelivery, failure: ChannelError): Promise<'retried' | 'failed'> {
    const at = now();
    const outcome = failureOutcome(failure, delivery.attempts, maxAttempts, backoffMs);
    if (outcome.kind === 'failed') {
      await database.orm
        .update(d)
        .set({ status: 'failed', lastError: outcome.code, leaseOwner: null, leaseUntil: null, updatedAt: at })
        .where(and(eq(d.id, delivery.id), eq(d.status, 'sending')));
      return 'failed';
    }
    const retryAt = new Date(at.getTime() + outcome.retryAfterMs);
    await database.orm.transaction(async (tx) => {
      await foldWaiting(tx, delivery.id);
      await tx
        .update(d)
        .set({
          status: 'pending',
          notBefore: retryAt,
          lastError: outcome.code,
          leaseOwner: null,
          leaseUntil: null,
          updatedAt: at,
        })
        .where(and(eq(d.id, delivery.id), eq(d.status, 'sending')));
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
        {
          delivery: delivery.id,
          channel: delivery.channel,
          status: sent.status,
          attempt: delivery.attempts,
          messages: delivery.messageCount,
        },
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
        {
          delivery: delivery.id,
          channel: delivery.channel,
          code: failure.code,
          kind: failure.kind,
          attempt: delivery.attempts,
        },
        outcome === 'failed' ? 'notification failed' : 'notification will be retried',
      );
    }
  }

  async function round(): Promise<SenderRound> {
    const result: SenderRound = {
      expired: 0,
      settled: 0,
      planned: 0,
      held: 0,
      cancelled: 0,
      sent: 0,
      retried: 0,
      failed: 0,
    };
    const at = now();
    result.expired = await expireLeases(context, at);
    result.planned = await plan(database, options.digestSeconds, at);
    // With its own heartbeat late, this sender may already be taken for dead: it hands nothing over.
    if (options.mayHandOver && !options.mayHandOver()) return result;
    result.settled = await settleAllInDoubt(at);
    const claimed = await claimDue(
      context,
      { quietHours: options.quietHours, dailyCap: options.smsDailyCap },
      at,
      result,
    );
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
      busy =
        done.planned > 0 ||
        done.settled > 0 ||
        done.sent + done.retried + done.failed + done.cancelled + done.held >= batchSize;
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
