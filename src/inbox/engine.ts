// The message engine: receive queued notifications -> fetch details -> decide -> store -> notify.
// A batch's effects (post state, held cancellations, messages, care-unit relations, channel requests)
// are written in one transaction together with marking its notifications done, so a crash at any point
// leads to each effect exactly once. One citizen's notifications of a round are decided in order, each
// seeing the state the previous one left; one that must wait for its producer holds back only the later
// notifications of its own post (the queue keeps the rest of the order: src/queue/in-database.ts).
import { sql } from 'drizzle-orm';
import type { DeliveryMode, SourceSystemDirectory } from '../activation-registry/directory.js';
import { rows, type Database } from '../db/database.js';
import type { BookingDetails, DetailsFetcher, DetailsOutcome } from '../details-fetcher/index.js';
import type { Logger } from '../logging.js';
import {
  claimNotifications,
  completeNotifications,
  deadLetterNotification,
  newWorkerId,
  releaseNotifications,
  renewLeases,
  retryNotificationLater,
  supersedeEarlier,
  type QueuedNotification,
} from '../queue/in-database.js';
import { decide, decideRelease, type BookingSnapshot, type Categorization, type DetailsResult, type HeldDelete, type PostRef } from './decide.js';
import { BatchEffects, citizenSystem, loadHeldDeletes, loadStoredPosts, StaleState, toHeld, writeEffects, type HeldRow } from './effects.js';
import type { EngineEvent, SourceActivity } from '../source-activity/index.js';
import { decisionRecord, recordDecisions, type DecisionRecord } from './decision-log.js';
import type { MessageRenderer } from './render-message.js';
import { DEFAULT_RETRY_PERIOD_MS, planRetry, type Failure } from './retry-policy.js';

export interface EngineOptions {
  database: Database;
  /** Undefined while NTJP_GETBOOKINGDETAILS_URL is unset: notifications wait in the queue. */
  fetcher: DetailsFetcher | undefined;
  directory: SourceSystemDirectory;
  renderer: MessageRenderer;
  log: Logger;
  rebookWindowMs: number;
  workerId?: string;
  leaseMs?: number;
  /** Citizens claimed per round (each with up to 20 consecutive notifications). */
  concurrency?: number;
  /** GetBookingDetails calls in flight at once per round, over all care units (each also has its own cap). */
  fetchConcurrency?: number;
  /** Rounds in flight at once in this process (default 2). */
  parallelRounds?: number;
  pollMs?: number;
  /** The table loop takes only notifications at least this old (Kafka mode: fresh ones come via Kafka). */
  claimMinAgeMs?: number;
  /**
   * How long a notification waits for a producer that is down or refusing before it becomes a dead letter
   * (NOTIFICATION_RETRY_HOURS; also given up once the booking's known time has passed).
   */
  retryPeriodMs?: number;
  /** How long after a held delete's window ends a new post delivered inside the window is still awaited (default 3 s). */
  releaseGraceMs?: number;
  /** How often held deletes are looked at (default 500 ms), on a loop of its own. */
  releaseEveryMs?: number;
  now?: () => Date;
  /** Told after each notification is settled (metrics, tests). */
  onSettled?: (outcome: { id: number; result: 'done' | 'retry' | 'dead'; because: string }) => void;
  /** Per-source-system counters: messages by kind, no message, producer failures, dead letters. */
  activity?: SourceActivity;
  /** Told of the kinds of the inbox messages a committed write created (metrics). */
  onMessagesCreated?: (kinds: readonly string[]) => void;
}

export interface MessageEngine {
  /** Claims and processes one round; resolves to the number of notifications settled. */
  runOnce(workerId?: string): Promise<number>;
  /** Processes notifications already claimed under `workerId` (in id order; one citizen's in order). */
  processClaimed(claimed: readonly QueuedNotification[], workerId: string): Promise<number>;
  /** Releases held deletes whose window ended; resolves to the number released. */
  releaseDueHolds(): Promise<number>;
  stop(): Promise<void>;
}


/**
 * What an unexpected error may say in logs and in the dead-letter reason: the database driver's own
 * message and code, never the failed query's text and parameters (which hold identity numbers).
 */
export function describeError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const inner = cause instanceof Error ? cause : error instanceof Error ? error : undefined;
  if (!inner) return 'unknown error';
  const code = (inner as { code?: unknown }).code;
  const message = inner.message.split('\n')[0]!.replace(/^Failed query:.*$/, 'database query failed');
  return typeof code === 'string' ? `${message} (${code})` : message;
}
class LostLease extends Error {}


export function toSnapshot(details: BookingDetails): BookingSnapshot {
  const snapshot: BookingSnapshot = { healthcareFacility: details.healthcareFacility };
  if (details.start) snapshot.start = details.start.toISOString();
  if (details.end) snapshot.end = details.end.toISOString();
  if ((details.startRaw && !details.start) || (details.endRaw && !details.end)) snapshot.badTime = true;
  const optional = [
    'healthcareFacilityName',
    'performer',
    'performerName',
    'bookingId',
    'purpose',
    'reason',
    'resourceName',
    'timeTypeName',
    'careTypeName',
    'cancelBookingAllowed',
    'rebookingAllowed',
    'messageAllowed',
    'isInvitation',
  ] as const;
  for (const key of optional) {
    const value = details[key];
    if (value !== undefined) (snapshot as unknown as Record<string, unknown>)[key] = value;
  }
  return snapshot;
}

function postOf(item: QueuedNotification): PostRef {
  const e = item.engagement;
  return {
    keyHash: item.keyHash,
    resident: e.registeredResidentIdentification,
    sourceSystem: e.sourceSystem,
    logicalAddress: e.logicalAddress,
    bookingId: e.businessObjectInstanceIdentifier,
    categorization: e.categorization as Categorization,
  };
}

/** The producer's answer as the decision's input, or why there is none now. */
function detailsResult(outcome: DetailsOutcome): DetailsResult | Failure {
  switch (outcome.kind) {
    case 'found':
      return { kind: 'found', details: toSnapshot(outcome.details) };
    case 'not-found':
      return { kind: 'not-found' };
    case 'subject-mismatch':
      return { kind: 'subject-mismatch', reason: outcome.reason };
    case 'malformed':
      return { kind: 'permanent', reason: `malformed GetBookingDetails answer: ${outcome.reason}` };
    case 'transient':
      return {
        kind: outcome.notSent ? 'not-sent' : 'transient',
        reason: outcome.reason,
        ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}),
      };
    case 'configuration':
      // Fixed by ordering a route, not by hammering: tried every 15 minutes, visible meanwhile.
      return { kind: 'configuration', reason: `${outcome.code}: ${outcome.reason}`, ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}) };
  }
}

const isFailure = (value: DetailsResult | Failure): value is Failure =>
  value.kind === 'permanent' || value.kind === 'not-sent' || value.kind === 'transient' || value.kind === 'configuration';


/** The distinct GetBookingDetails call an item needs (a delete needs none): one per booking of the round. */
const fetchKey = (item: QueuedNotification): string | undefined =>
  item.deleteFlag ? undefined : `${item.engagement.logicalAddress}\u001f${item.engagement.businessObjectInstanceIdentifier}\u001f${item.resident}`;

/**
 * Which claimed items (in id order) a round keeps so that it makes at most `perAddress` calls to any one
 * care unit; the rest are given back at once for a later round. A citizen's items are cut as a whole
 * from the first one beyond the budget (it and all the citizen's later ones go back), so that per post and
 * per citizen the kept ones are a prefix and no order the queue keeps is broken. The first call to each
 * address always fits, so every round makes progress. Pure.
 */
export function withinCallBudget<T extends QueuedNotification>(claimed: readonly T[], perAddress: number): { kept: T[]; over: T[] } {
  const calls = new Map<string, number>();
  const counted = new Set<string>();
  const cut = new Set<string>();
  const kept: T[] = [];
  const over: T[] = [];
  for (const item of claimed) {
    if (cut.has(item.resident)) {
      over.push(item);
      continue;
    }
    const key = fetchKey(item);
    if (key !== undefined && !counted.has(key)) {
      const address = item.engagement.logicalAddress;
      const made = calls.get(address) ?? 0;
      if (made >= perAddress) {
        cut.add(item.resident);
        over.push(item);
        continue;
      }
      calls.set(address, made + 1);
      counted.add(key);
    }
    kept.push(item);
  }
  return { kept, over };
}

export function startMessageEngine(options: EngineOptions): MessageEngine {
  const { database, directory, renderer, log } = options;
  const primaryWorkerId = options.workerId ?? newWorkerId();
  // Rounds run side by side, each as a worker of its own: one fetches while another writes.
  const parallelRounds = Math.max(1, options.parallelRounds ?? 2);
  const leaseMs = options.leaseMs ?? 60_000;
  const citizensPerRound = options.concurrency ?? 256;
  const fetchConcurrency = options.fetchConcurrency ?? 256;
  const retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
  const releaseGraceMs = options.releaseGraceMs ?? 3_000;
  const now = options.now ?? (() => new Date());
  let stopped = false;

  /** One info line per decision: the kind made or "no message", and why; the post by its key hash only. */
  function logDecisions(records: readonly DecisionRecord[]): void {
    for (const record of records) {
      log.info(
        {
          ...(record.notificationId !== undefined ? { notificationId: record.notificationId } : { heldId: record.heldId }),
          keyHash: record.keyHash,
          sourceSystem: record.sourceSystem,
          logicalAddress: record.logicalAddress,
          outcome: record.outcome,
          ...(record.messageKind ? { kind: record.messageKind } : {}),
          because: record.because,
        },
        'decision',
      );
    }
  }

  /**
   * Details for every new or updated post of the round, each distinct booking asked for once. Once the
   * claim is lost (`lost`), nothing more is asked for: the batch is not ours to finish.
   */
  async function fetchAll(items: readonly QueuedNotification[], lost: () => boolean): Promise<Map<number, DetailsOutcome>> {
    const fetcher = options.fetcher!;
    const byBooking = new Map<string, QueuedNotification[]>();
    for (const item of items) {
      const key = fetchKey(item);
      if (key === undefined) continue;
      byBooking.set(key, [...(byBooking.get(key) ?? []), item]);
    }
    const outcomes = new Map<number, DetailsOutcome>();
    const work = [...byBooking.values()];
    await Promise.all(
      Array.from({ length: Math.min(fetchConcurrency, work.length) }, async () => {
        for (let group = work.shift(); group && !lost(); group = work.shift()) {
          const post = postOf(group[0]!);
          const outcome = await fetcher
            .fetch({ logicalAddress: post.logicalAddress, bookingId: post.bookingId, resident: post.resident })
            .catch((error: unknown): DetailsOutcome => ({ kind: 'transient', reason: describeError(error) }));
          for (const item of group) outcomes.set(item.id, outcome);
        }
      }),
    );
    return outcomes;
  }

  /** The mode a notification was delivered in (stamped at intake; rows from before the stamp: the mode now). */
  function deliveredMode(item: QueuedNotification): DeliveryMode {
    return item.deliveredMode ?? directory.modeOf(item.sourceSystem) ?? 'active';
  }

  /**
   * Decides and writes the given citizens' notifications (each list in id order) in one transaction. A
   * notification whose details cannot be had now is put back for later, and the later notifications of its
   * post wait behind it (those of the citizen's other posts go on); a permanent failure becomes a dead
   * letter and the post's next ones go on.
   */
  async function settle(groups: readonly QueuedNotification[][], outcomes: Map<number, DetailsOutcome>, workerId: string): Promise<number> {
    const items = groups.flat();
    const stored = await loadStoredPosts(database.orm, [...new Set(items.map((item) => item.keyHash))]);
    const held = await loadHeldDeletes(database.orm, [...new Set(items.map((item) => item.resident))]);
    const effects = new BatchEffects(renderer);
    const done: { item: QueuedNotification; because: string }[] = [];
    const decisions: DecisionRecord[] = [];
    const later: { item: QueuedNotification; failure: Failure; bookingStart?: Date }[] = [];
    const waiting: number[] = [];
    const moment = now();

    for (const group of groups) {
      const blockedPosts = new Set<string>();
      for (const item of group) {
        if (blockedPosts.has(item.keyHash)) {
          waiting.push(item.id);
          continue;
        }
        let details: DetailsResult | undefined;
        if (!item.deleteFlag) {
          const result = detailsResult(outcomes.get(item.id) ?? { kind: 'transient', reason: 'no answer fetched', notSent: true });
          if (isFailure(result)) {
            const start = stored.get(item.keyHash)?.details?.start;
            later.push({ item, failure: result, ...(start && item.engagement.categorization === 'Booking' ? { bookingStart: new Date(start) } : {}) });
            if (result.kind !== 'permanent') blockedPosts.add(item.keyHash);
            continue;
          }
          details = result;
        }
        const post = postOf(item);
        const key = citizenSystem(post.resident, post.sourceSystem);
        const heldOfCitizen = held.get(key) ?? [];
        held.set(key, heldOfCitizen);
        const storedPost = stored.get(item.keyHash);
        // Held by the flood guard: decided as active, its messages wait in held_message (held-messages.ts).
        const mode = deliveredMode(item);
        const decision = decide({
          notification: { id: item.id, deleteFlag: item.deleteFlag, post, receivedAt: item.receivedAt },
          ...(details ? { details } : {}),
          ...(storedPost ? { stored: storedPost } : {}),
          held: heldOfCitizen,
          mode: mode === 'held' ? 'active' : mode,
          now: moment,
          rebookWindowMs: options.rebookWindowMs,
        });
        effects.add(decision.actions, `notification:${item.id}`, item.id, stored, heldOfCitizen, mode === 'held');
        done.push({ item, because: decision.because });
        decisions.push(decisionRecord({ notificationId: item.id, post, decision, cause: `notification:${item.id}` }));
      }
    }

    let superseded = 0;
    if (done.length > 0) {
      await database.orm.transaction(async (tx) => {
        if (!(await completeNotifications(tx, done.map(({ item }) => item.id), workerId))) {
          throw new LostLease('a notification of the batch is no longer ours');
        }
        // A delete that passed its post's items waiting for a retry settles them.
        superseded = await supersedeEarlier(tx, done.filter(({ item }) => item.deleteFlag).map(({ item }) => ({ id: item.id, keyHash: item.keyHash })));
        await writeEffects(tx, effects);
        await recordDecisions(tx, decisions);
      });
      if (effects.messages.length > 0) options.onMessagesCreated?.(effects.messages.map((message) => message.kind));
      logDecisions(decisions);
    }
    const events: EngineEvent[] = decisions.map((record) => ({ sourceSystem: record.sourceSystem, counter: record.messageKind ?? 'no_message' }));
    if (superseded > 0) log.info({ superseded }, 'notifications waiting for a retry settled by a later delete of their post');
    for (const event of effects.securityEvents) {
      log.warn({ notificationId: event.sourceNotificationId, logicalAddress: event.logicalAddress }, 'subject_of_care mismatch: nothing shown, security event recorded');
    }
    for (const { item, because } of done) options.onSettled?.({ id: item.id, result: 'done', because });

    let settled = done.length;
    for (const { item, failure, bookingStart } of later) {
      const plan = planRetry(failure, {
        attempts: item.attempts,
        receivedAt: item.receivedAt,
        ...(bookingStart ? { bookingStart } : {}),
        now: moment,
        retryPeriodMs,
      });
      if (plan.kind === 'dead') {
        await deadLetterNotification(database, item.id, workerId, plan.reason);
        log.error({ notificationId: item.id, logicalAddress: item.engagement.logicalAddress, reason: plan.reason }, 'notification dead-lettered');
        if (failure.kind !== 'not-sent') events.push({ sourceSystem: item.sourceSystem, counter: 'producer_failures' });
        events.push({ sourceSystem: item.sourceSystem, counter: 'dead_letters' });
        const dead = decisionRecord({ notificationId: item.id, post: postOf(item), decision: { actions: [], because: plan.reason }, cause: `notification:${item.id}`, dead: true });
        await recordDecisions(database.orm, [dead]).catch(() => {});
        logDecisions([dead]);
        options.onSettled?.({ id: item.id, result: 'dead', because: plan.reason });
        settled++;
        continue;
      }
      await retryNotificationLater(database, item.id, workerId, plan);
      // A refusal of our own open breaker is no new failure of the producer.
      if (failure.kind !== 'not-sent') events.push({ sourceSystem: item.sourceSystem, counter: 'producer_failures' });
      // A refusal of an open breaker is routine while a producer is down: not a warning each time.
      const level = failure.kind === 'not-sent' ? 'debug' : 'warn';
      log[level](
        { notificationId: item.id, logicalAddress: item.engagement.logicalAddress, attempts: item.attempts + (plan.spendTry ? 1 : 0), delayMs: plan.delayMs, reason: plan.reason },
        'notification not processed yet',
      );
      options.onSettled?.({ id: item.id, result: 'retry', because: plan.reason });
    }
    await releaseNotifications(database, waiting, workerId);
    if (events.length > 0) await options.activity?.recordEngine(events);
    return settled;
  }

  /**
   * Calls to one care unit a round may make: what its cap (NTJP_MAX_CALLS_PER_SECOND) lets start within half
   * the lease and within the cap's longest wait, shared by the rounds running side by side. A round
   * claims up to 256 posts; were they all at one unit, their calls would queue on the cap longer than the
   * lease (a 2 s lease and 256 calls at 100/s), the lease would lapse mid-batch, another round would take
   * the posts and call again, and the first round's work would be thrown away. Undefined: no cap.
   */
  function callBudget(): number | undefined {
    const pace = options.fetcher?.pace;
    if (!pace) return undefined;
    const windowMs = Math.min(leaseMs / 2, pace.maxWaitMs);
    return Math.max(1, Math.floor((pace.callsPerSecondPerAddress * windowMs) / 1000 / parallelRounds));
  }

  /**
   * Keeps the batch's claim while its details are fetched: the lease is extended every third of it, so a
   * wait on a care unit's cap or a free slot never outlives the claim. A claim found lost (taken over
   * after a stall, or released by the liveness of a process taken for dead) is logged, and no further
   * calls are made for the batch.
   */
  function holdLeases(ids: readonly number[], workerId: string): { lost: () => boolean; stop: () => Promise<void> } {
    let lost = false;
    let running: Promise<void> | undefined;
    const timer = setInterval(() => {
      if (running || lost) return;
      running = renewLeases(database, ids, workerId, leaseMs)
        .then(
          (renewed) => {
            if (renewed < ids.length) {
              lost = true;
              log.warn({ notifications: ids.length, stillOurs: renewed }, 'claim lost while fetching details: the batch stops and is taken up again');
            }
          },
          (error: unknown) => log.warn({ reason: describeError(error) }, 'lease not extended; trying again'),
        )
        .finally(() => (running = undefined));
    }, Math.max(50, leaseMs / 3));
    timer.unref();
    return {
      lost: () => lost,
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }

  async function runOnce(workerId: string = primaryWorkerId): Promise<number> {
    const claimed = await claimNotifications(database, {
      workerId,
      posts: citizensPerRound,
      perPost: 20,
      leaseMs,
      ...(options.claimMinAgeMs ? { minAgeMs: options.claimMinAgeMs } : {}),
    });
    return processClaimed(claimed, workerId);
  }

  /** Processes notifications this worker holds the lease of (claimed from the table, or handed over by Kafka). */
  async function processClaimed(claimed: readonly QueuedNotification[], workerId: string): Promise<number> {
    if (claimed.length === 0) return 0;
    // No more calls to one care unit than its cap lets start well within the lease (see callBudget).
    const budget = callBudget();
    if (budget !== undefined) {
      const { kept, over } = withinCallBudget(claimed, budget);
      if (over.length > 0) {
        await releaseNotifications(database, over.map((item) => item.id), workerId);
        claimed = kept;
      }
    }
    const byCitizen = new Map<string, QueuedNotification[]>();
    for (const item of claimed) byCitizen.set(item.resident, [...(byCitizen.get(item.resident) ?? []), item]);
    const groups = [...byCitizen.values()];
    const lease = holdLeases(claimed.map((item) => item.id), workerId);
    let outcomes: Map<number, DetailsOutcome>;
    try {
      outcomes = await fetchAll(claimed, lease.lost);
    } finally {
      await lease.stop();
    }
    try {
      return await settle(groups, outcomes, workerId);
    } catch (error) {
      if (error instanceof LostLease) {
        log.info({ reason: error.message }, 'batch taken over; it will be picked up again');
        await releaseNotifications(database, claimed.map((item) => item.id), workerId).catch(() => {});
        return 0;
      }
      // A batch that cannot be written whole is written one notification at a time, so that one bad
      // notification cannot hold up everybody else's.
      log.warn({ reason: describeError(error), notifications: claimed.length }, 'batch not written whole; writing one by one');
      let settled = 0;
      for (const group of groups) {
        // What must wait now: the later items of a post that did not go through, and after a delete that
        // did not go through, the citizen's new posts at that source system (the rebooking window).
        const blockedPosts = new Set<string>();
        const blockedSystems = new Set<string>();
        for (const item of group) {
          if (blockedPosts.has(item.keyHash) || (!item.deleteFlag && blockedSystems.has(item.sourceSystem))) {
            await releaseNotifications(database, [item.id], workerId).catch(() => {});
            continue;
          }
          try {
            settled += await settle([[item]], outcomes, workerId);
            if ((await pendingAndOurs(item.id)) === false) continue;
            // Put back for later (details not available now): the rest of its post waits.
            blockedPosts.add(item.keyHash);
          } catch (single) {
            const stale = single instanceof StaleState || single instanceof LostLease;
            const reason = describeError(single);
            if (!stale) {
              const plan = planRetry({ kind: 'transient', reason }, { attempts: item.attempts, receivedAt: item.receivedAt, now: now(), retryPeriodMs });
              if (plan.kind === 'dead') await deadLetterNotification(database, item.id, workerId, plan.reason).catch(() => {});
              else await retryNotificationLater(database, item.id, workerId, plan).catch(() => {});
            }
            log.warn({ notificationId: item.id, reason }, 'notification not processed');
            await releaseNotifications(database, [item.id], workerId).catch(() => {});
            blockedPosts.add(item.keyHash);
            if (item.deleteFlag) blockedSystems.add(item.sourceSystem);
          }
        }
      }
      return settled;
    }
  }

  /** Whether an item is still pending under our lease (it was put back for a retry). */
  async function pendingAndOurs(id: number): Promise<boolean> {
    const [row] = await rows<{ n: number }>(
      database.orm,
      sql`select count(*)::int as n from inbound_notification where id = ${id} and status = 'pending' and available_at > now()`,
    );
    return Number(row?.n ?? 0) > 0;
  }

  async function releaseDueHolds(): Promise<number> {
    return database.orm.transaction(async (tx) => {
      // A new post of the same citizen and system delivered inside the window that is still on its first
      // try may turn the cancellation into a rebooking: it is awaited for a short grace after the window.
      // One whose producer is failing (or anything beyond the grace) is not: the citizen hears of the
      // cancellation within seconds of the window's end whatever other care units are doing, and of the
      // new booking (a confirmation) once its producer answers.
      const moment = now();
      const due = await rows<HeldRow & { booking_id: string | null }>(
        tx,
        sql`select h.*, p.booking_id from held_cancellation h left join booking_post p on p.key_hash = h.key_hash
            where h.status = 'held' and h.due_at <= ${moment.toISOString()}::timestamptz
              and (h.due_at <= ${new Date(moment.getTime() - releaseGraceMs).toISOString()}::timestamptz or not exists (
                select 1 from inbound_notification n
                where n.status = 'pending' and not n.delete_flag and n.attempts = 0
                  and n.resident = h.resident and n.source_system = h.source_system
                  and n.received_at >= h.deleted_at and n.received_at < h.due_at))
            order by h.due_at limit 500
            for update of h skip locked`,
      );
      if (due.length === 0) return { released: 0, kinds: [] as string[], decisions: [] as DecisionRecord[] };
      const effects = new BatchEffects(renderer);
      const decisions: DecisionRecord[] = [];
      for (const row of due) {
        const held: HeldDelete = toHeld(row);
        const post: PostRef = {
          keyHash: row.key_hash,
          resident: row.resident,
          sourceSystem: row.source_system,
          logicalAddress: row.logical_address,
          bookingId: row.booking_id ?? held.details?.bookingId ?? '',
          categorization: row.categorization,
        };
        const decision = decideRelease({ ...held, post }, moment);
        // A cancellation at a care unit the flood guard holds waits with the unit's other messages.
        effects.add(decision.actions, `held:${held.id}`, held.id, new Map(), [held], directory.holdOf(row.logical_address)?.status === 'holding');
        decisions.push(decisionRecord({ heldId: held.id, post, decision, cause: `held:${held.id}` }));
      }
      await writeEffects(tx, effects);
      await recordDecisions(tx, decisions);
      return { released: due.length, kinds: effects.messages.map((message) => message.kind), decisions };
    }).then(async ({ released, kinds, decisions }) => {
      if (kinds.length > 0) options.onMessagesCreated?.(kinds);
      logDecisions(decisions);
      if (decisions.length > 0) {
        await options.activity?.recordEngine(decisions.map((record) => ({ sourceSystem: record.sourceSystem, counter: record.messageKind ?? 'no_message' })));
      }
      return released;
    });
  }

  const pollMs = options.pollMs ?? 200;
  const wakers = new Set<() => void>();
  const pause = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        wakers.delete(done);
        resolve();
      };
      wakers.add(done);
      setTimeout(done, pollMs);
    });
  let loops: Promise<void> | undefined = Promise.all(
    Array.from({ length: parallelRounds }, async (_, index) => {
      const workerId = index === 0 ? primaryWorkerId : `${primaryWorkerId}/${index}`;
      while (!stopped) {
        let busy = 0;
        try {
          // Without GetBookingDetails nothing can be processed in order: notifications wait (see /readyz).
          if (options.fetcher) busy = await runOnce(workerId);
        } catch (error) {
          log.error({ reason: describeError(error) }, 'message engine round failed; trying again');
        }
        if (busy === 0 && !stopped) await pause();
      }
    }),
  ).then(() => undefined);
  // Held deletes are released on a loop of their own: a round waiting for a slow producer never delays them.
  const releaseEveryMs = options.releaseEveryMs ?? 500;
  const releasing = (async () => {
    while (!stopped) {
      try {
        while ((await releaseDueHolds()) === 500 && !stopped);
      } catch (error) {
        log.error({ reason: describeError(error) }, 'releasing held cancellations failed; trying again');
      }
      if (!stopped) {
        await new Promise<void>((resolve) => {
          const done = () => {
            wakers.delete(done);
            resolve();
          };
          wakers.add(done);
          setTimeout(done, releaseEveryMs);
        });
      }
    }
  })();
  loops = Promise.all([loops, releasing]).then(() => undefined);

  return {
    runOnce,
    processClaimed,
    releaseDueHolds,
    async stop() {
      stopped = true;
      for (const wake of wakers) wake();
      await loops;
      loops = undefined;
    },
  };
}
