// One batch of claimed notifications, as a story: ask each booking's producer once, decide each citizen's
// notifications in order (pure), write the decisions with the queue's completion in one transaction; a
// notification whose details cannot be had now goes back to the queue by its retry policy. Every step
// answers with a value (an outcome), not an exception: a lost lease, a held delete resolved meanwhile and
// a failed write are outcomes the story handles in one place. Only an unexpected error (the database
// failing) is caught, once, at the write, and becomes the outcome `failed`.
import type { DeliveryMode } from '../activation-registry/index.js';
import type { Database } from '../db/index.js';
import type { BookingDetails, DetailsOutcome } from '../details-fetcher/index.js';
import { loadStoredPosts } from '../inbox/index.js';
import {
  completeNotifications,
  deadLetterNotification,
  planRetry,
  releaseNotifications,
  renewLeases,
  retryNotificationLater,
  supersedeEarlier,
  waitsForRetry,
  type Failure,
  type QueuedNotification,
} from '../queue/index.js';
import type { EngineEvent } from '../source-activity/index.js';
import { decide, type BookingSnapshot, type Categorization, type DetailsResult, type PostRef } from './decide.js';
import { decisionRecord, logDecisions, recordDecisions, type DecisionRecord } from './decision-log.js';
import { BatchEffects, citizenSystem, loadHeldDeletes, writeEffects } from './effects.js';
import type { EngineOptions } from './engine.js';

/** What writing a set of decisions came to. */
export type WriteOutcome =
  | { kind: 'settled'; settled: number }
  /** A notification of the batch is no longer ours (another worker took it over after the lease lapsed). */
  | { kind: 'lease-lost' }
  /** A held delete the decisions relied on was resolved meanwhile (by another batch or the release loop). */
  | { kind: 'stale' }
  /** The write failed unexpectedly (the database); `reason` as describeError words it. */
  | { kind: 'failed'; reason: string };

/** What a batch needs: the engine's options, with its defaults applied (engine.ts). */
export type BatchDependencies = Pick<
  EngineOptions,
  | 'database'
  | 'fetcher'
  | 'directory'
  | 'renderer'
  | 'log'
  | 'rebookWindowMs'
  | 'onSettled'
  | 'activity'
  | 'onMessagesCreated'
> &
  Required<Pick<EngineOptions, 'retryPeriodMs' | 'fetchConcurrency' | 'leaseMs' | 'parallelRounds' | 'now'>>;

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

export function postOf(item: QueuedNotification): PostRef {
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

/** The producer's answer as the decision's input, or why there is none now (a Failure for the retry policy). */
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
      // Fixed by ordering a route, not by hammering: the retry policy's slow schedule, visible meanwhile.
      return {
        kind: 'configuration',
        reason: `${outcome.code}: ${outcome.reason}`,
        ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}),
      };
  }
}

const isFailure = (value: DetailsResult | Failure): value is Failure =>
  value.kind === 'permanent' ||
  value.kind === 'not-sent' ||
  value.kind === 'transient' ||
  value.kind === 'configuration';

/** The distinct GetBookingDetails call an item needs (a delete needs none): one per booking of the round. */
const fetchKey = (item: QueuedNotification): string | undefined =>
  item.deleteFlag
    ? undefined
    : `${item.engagement.logicalAddress}\u001f${item.engagement.businessObjectInstanceIdentifier}` +
      `\u001f${item.resident}`;

/**
 * Which claimed items (in id order) a round keeps so that it makes at most `perAddress` calls to any one
 * care unit; the rest are given back at once for a later round. A citizen's items are cut as a whole
 * from the first one beyond the budget (it and all the citizen's later ones go back), so that per post and
 * per citizen the kept ones are a prefix and no order the queue keeps is broken. The first call to each
 * address always fits, so every round makes progress. Pure.
 */
export function withinCallBudget<T extends QueuedNotification>(
  claimed: readonly T[],
  perAddress: number,
): { kept: T[]; over: T[] } {
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

/**
 * Runs `work` in one transaction that commits only when its outcome is `settled`; any other outcome rolls
 * it back and is returned as it is; an error thrown by the database becomes `failed`.
 */
async function writeInOneTransaction(
  database: Database,
  work: (tx: Parameters<Parameters<Database['orm']['transaction']>[0]>[0]) => Promise<WriteOutcome>,
): Promise<WriteOutcome> {
  let outcome: WriteOutcome | undefined;
  try {
    return await database.orm.transaction(async (tx) => {
      outcome = await work(tx);
      // drizzle rolls back by throwing from the callback; the outcome is kept and returned below.
      if (outcome.kind !== 'settled') tx.rollback();
      return outcome;
    });
  } catch (error) {
    if (outcome !== undefined && outcome.kind !== 'settled') return outcome;
    return { kind: 'failed', reason: describeError(error) };
  }
}

/** The batch processor of one engine: processClaimed(claimed, workerId) → notifications settled. */
export function createBatchProcessor(deps: BatchDependencies) {
  const { database, directory, renderer, log } = deps;

  /**
   * Details for every new or updated post of the batch, each distinct booking asked for once. Once the
   * claim is lost (`lost`), nothing more is asked for: the batch is not ours to finish.
   */
  async function fetchAll(
    items: readonly QueuedNotification[],
    lost: () => boolean,
  ): Promise<Map<number, DetailsOutcome>> {
    const fetcher = deps.fetcher;
    if (!fetcher) return new Map();
    const byBooking = new Map<string, QueuedNotification[]>();
    for (const item of items) {
      const key = fetchKey(item);
      if (key === undefined) continue;
      byBooking.set(key, [...(byBooking.get(key) ?? []), item]);
    }
    const outcomes = new Map<number, DetailsOutcome>();
    const work = [...byBooking.values()];
    await Promise.all(
      Array.from({ length: Math.min(deps.fetchConcurrency, work.length) }, async () => {
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

  /**
   * Calls to one care unit a round may make: what its cap (NTJP_MAX_CALLS_PER_SECOND) lets start within half
   * the lease and within the cap's longest wait, shared by the rounds running side by side. A round
   * claims up to 256 posts; were they all at one unit, their calls would queue on the cap longer than the
   * lease (a 2 s lease and 256 calls at 100/s), the lease would lapse mid-batch, another round would take
   * the posts and call again, and the first round's work would be thrown away. Undefined: no cap.
   */
  function callBudget(): number | undefined {
    const pace = deps.fetcher?.pace;
    if (!pace) return undefined;
    const windowMs = Math.min(deps.leaseMs / 2, pace.maxWaitMs);
    return Math.max(1, Math.floor((pace.callsPerSecondPerAddress * windowMs) / 1000 / deps.parallelRounds));
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
    const timer = setInterval(
      () => {
        if (running || lost) return;
        running = renewLeases(database, ids, workerId, deps.leaseMs)
          .then(
            (renewed) => {
              if (renewed < ids.length) {
                lost = true;
                log.warn(
                  { notifications: ids.length, stillOurs: renewed },
                  'claim lost while fetching details: the batch stops and is taken up again',
                );
              }
            },
            (error: unknown) => log.warn({ reason: describeError(error) }, 'lease not extended; trying again'),
          )
          .finally(() => (running = undefined));
      },
      Math.max(50, deps.leaseMs / 3),
    );
    timer.unref();
    return {
      lost: () => lost,
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }

  /** The mode a notification was delivered in (stamped at intake; rows from before the stamp: the mode now). */
  function deliveredMode(item: QueuedNotification): DeliveryMode {
    return item.deliveredMode ?? directory.modeOf(item.sourceSystem) ?? 'active';
  }

  /**
   * Gives a notification whose details cannot be had now back to the queue, by the retry policy: later, or a dead
   * letter.
   */
  async function putBack(
    item: QueuedNotification,
    failure: Failure,
    workerId: string,
    moment: Date,
    bookingStart: Date | undefined,
    events: EngineEvent[],
  ): Promise<'retry' | 'dead'> {
    const plan = planRetry(failure, {
      attempts: item.attempts,
      receivedAt: item.receivedAt,
      ...(bookingStart ? { bookingStart } : {}),
      now: moment,
      retryPeriodMs: deps.retryPeriodMs,
    });
    // A refusal of our own open breaker is no new failure of the producer.
    if (failure.kind !== 'not-sent') events.push({ sourceSystem: item.sourceSystem, counter: 'producer_failures' });
    if (plan.kind === 'dead') {
      await deadLetterNotification(database, item.id, workerId, plan.reason);
      log.error(
        { notificationId: item.id, logicalAddress: item.engagement.logicalAddress, reason: plan.reason },
        'notification dead-lettered',
      );
      events.push({ sourceSystem: item.sourceSystem, counter: 'dead_letters' });
      const dead = decisionRecord({
        notificationId: item.id,
        post: postOf(item),
        decision: { actions: [], because: plan.reason },
        cause: `notification:${item.id}`,
        dead: true,
      });
      await recordDecisions(database.orm, [dead]).catch(() => {});
      logDecisions(log, [dead]);
      deps.onSettled?.({ id: item.id, result: 'dead', because: plan.reason });
      return 'dead';
    }
    await retryNotificationLater(database, item.id, workerId, plan);
    // A refusal of an open breaker is routine while a producer is down: not a warning each time.
    const level = failure.kind === 'not-sent' ? 'debug' : 'warn';
    log[level](
      {
        notificationId: item.id,
        logicalAddress: item.engagement.logicalAddress,
        attempts: item.attempts + (plan.spendTry ? 1 : 0),
        delayMs: plan.delayMs,
        reason: plan.reason,
      },
      'notification not processed yet',
    );
    deps.onSettled?.({ id: item.id, result: 'retry', because: plan.reason });
    return 'retry';
  }

  /**
   * Decides and writes the given citizens' notifications (each list in id order) in one transaction. A
   * notification whose details cannot be had now is put back for later, and the later notifications of its
   * post wait behind it (those of the citizen's other posts go on); a permanent failure becomes a dead
   * letter and the post's next ones go on.
   */
  async function settle(
    groups: readonly QueuedNotification[][],
    outcomes: Map<number, DetailsOutcome>,
    workerId: string,
  ): Promise<WriteOutcome> {
    const items = groups.flat();
    const stored = await loadStoredPosts(database.orm, [...new Set(items.map((item) => item.keyHash))]);
    const held = await loadHeldDeletes(database.orm, [...new Set(items.map((item) => item.resident))]);
    const effects = new BatchEffects(renderer);
    const done: { item: QueuedNotification; because: string }[] = [];
    const decisions: DecisionRecord[] = [];
    const later: { item: QueuedNotification; failure: Failure; bookingStart?: Date }[] = [];
    const waiting: number[] = [];
    const moment = deps.now();

    // 1. Decide, one citizen's notifications in order, each seeing the state the previous one left.
    for (const group of groups) {
      const blockedPosts = new Set<string>();
      for (const item of group) {
        if (blockedPosts.has(item.keyHash)) {
          waiting.push(item.id);
          continue;
        }
        let details: DetailsResult | undefined;
        if (!item.deleteFlag) {
          const result = detailsResult(
            outcomes.get(item.id) ?? { kind: 'transient', reason: 'no answer fetched', notSent: true },
          );
          if (isFailure(result)) {
            const start = stored.get(item.keyHash)?.details?.start;
            later.push({
              item,
              failure: result,
              ...(start && item.engagement.categorization === 'Booking' ? { bookingStart: new Date(start) } : {}),
            });
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
          rebookWindowMs: deps.rebookWindowMs,
        });
        effects.add(decision.actions, `notification:${item.id}`, item.id, stored, heldOfCitizen, mode === 'held');
        done.push({ item, because: decision.because });
        decisions.push(decisionRecord({ notificationId: item.id, post, decision, cause: `notification:${item.id}` }));
      }
    }

    // 2. Write the decisions and mark their notifications done, in one transaction fenced on the lease.
    let superseded = 0;
    if (done.length > 0) {
      const written = await writeInOneTransaction(database, async (tx) => {
        if (
          !(await completeNotifications(
            tx,
            done.map(({ item }) => item.id),
            workerId,
          ))
        )
          return { kind: 'lease-lost' };
        // A delete that passed its post's items waiting for a retry settles them.
        superseded = await supersedeEarlier(
          tx,
          done.filter(({ item }) => item.deleteFlag).map(({ item }) => ({ id: item.id, keyHash: item.keyHash })),
        );
        if ((await writeEffects(tx, effects)).kind === 'stale') return { kind: 'stale' };
        await recordDecisions(tx, decisions);
        return { kind: 'settled', settled: done.length };
      });
      if (written.kind !== 'settled') return written;
      if (effects.messages.length > 0) deps.onMessagesCreated?.(effects.messages.map((message) => message.kind));
      logDecisions(log, decisions);
    }
    const events: EngineEvent[] = decisions.map((record) => ({
      sourceSystem: record.sourceSystem,
      counter: record.messageKind ?? 'no_message',
    }));
    if (superseded > 0)
      log.info({ superseded }, 'notifications waiting for a retry settled by a later delete of their post');
    for (const event of effects.securityEvents) {
      log.warn(
        { notificationId: event.sourceNotificationId, logicalAddress: event.logicalAddress },
        'subject_of_care mismatch: nothing shown, security event recorded',
      );
    }
    for (const { item, because } of done) deps.onSettled?.({ id: item.id, result: 'done', because });

    // 3. What could not be decided now goes back to the queue by its retry policy; what waited behind it is released.
    let settled = done.length;
    for (const { item, failure, bookingStart } of later) {
      if ((await putBack(item, failure, workerId, moment, bookingStart, events)) === 'dead') settled++;
    }
    await releaseNotifications(database, waiting, workerId);
    if (events.length > 0) await deps.activity?.recordEngine(events);
    return { kind: 'settled', settled };
  }

  /** `settle`, with an unexpected error (the database failing outside the write) as the outcome `failed`. */
  const attempt = (
    groups: readonly QueuedNotification[][],
    outcomes: Map<number, DetailsOutcome>,
    workerId: string,
  ): Promise<WriteOutcome> =>
    settle(groups, outcomes, workerId).catch((error: unknown): WriteOutcome => ({
      kind: 'failed',
      reason: describeError(error),
    }));

  /**
   * A batch that cannot be written whole is written one notification at a time, so that one bad
   * notification cannot hold up everybody else's.
   */
  async function settleOneByOne(
    groups: readonly QueuedNotification[][],
    outcomes: Map<number, DetailsOutcome>,
    workerId: string,
  ): Promise<number> {
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
        const outcome = await attempt([[item]], outcomes, workerId);
        if (outcome.kind === 'settled') {
          settled += outcome.settled;
          // Put back for later (details not available now): the rest of its post waits.
          if (await waitsForRetry(database.orm, item.id).catch(() => true)) blockedPosts.add(item.keyHash);
          continue;
        }
        // Lost or stale: another worker or the release loop moved on; it is claimed again later as it is.
        // Failed: the retry policy decides, as for a transient failure of the producer.
        if (outcome.kind === 'failed') {
          const plan = planRetry(
            { kind: 'transient', reason: outcome.reason },
            {
              attempts: item.attempts,
              receivedAt: item.receivedAt,
              now: deps.now(),
              retryPeriodMs: deps.retryPeriodMs,
            },
          );
          if (plan.kind === 'dead')
            await deadLetterNotification(database, item.id, workerId, plan.reason).catch(() => {});
          else await retryNotificationLater(database, item.id, workerId, plan).catch(() => {});
        }
        log.warn(
          { notificationId: item.id, reason: outcome.kind === 'failed' ? outcome.reason : outcome.kind },
          'notification not processed',
        );
        await releaseNotifications(database, [item.id], workerId).catch(() => {});
        blockedPosts.add(item.keyHash);
        if (item.deleteFlag) blockedSystems.add(item.sourceSystem);
      }
    }
    return settled;
  }

  /** Processes notifications this worker holds the lease of (claimed from the table, or handed over by Kafka). */
  return async function processClaimed(all: readonly QueuedNotification[], workerId: string): Promise<number> {
    if (all.length === 0) return 0;
    // No more calls to one care unit than its cap lets start well within the lease (see callBudget).
    let claimed = all;
    const budget = callBudget();
    if (budget !== undefined) {
      const { kept, over } = withinCallBudget(claimed, budget);
      if (over.length > 0) {
        await releaseNotifications(
          database,
          over.map((item) => item.id),
          workerId,
        );
        claimed = kept;
      }
    }
    const byCitizen = new Map<string, QueuedNotification[]>();
    for (const item of claimed) byCitizen.set(item.resident, [...(byCitizen.get(item.resident) ?? []), item]);
    const groups = [...byCitizen.values()];
    // 1. Ask each booking's producer once, keeping the claim meanwhile.
    const lease = holdLeases(
      claimed.map((item) => item.id),
      workerId,
    );
    let outcomes: Map<number, DetailsOutcome>;
    try {
      outcomes = await fetchAll(claimed, lease.lost);
    } finally {
      await lease.stop();
    }
    // 2. Decide and write, the whole batch in one transaction.
    const whole = await attempt(groups, outcomes, workerId);
    // 3. What that came to: settled; taken over (give it back); or written one notification at a time.
    switch (whole.kind) {
      case 'settled':
        return whole.settled;
      case 'lease-lost':
        log.info(
          { reason: 'a notification of the batch is no longer ours' },
          'batch taken over; it will be picked up again',
        );
        await releaseNotifications(
          database,
          claimed.map((item) => item.id),
          workerId,
        ).catch(() => {});
        return 0;
      case 'stale':
      case 'failed':
        log.warn(
          {
            reason: whole.kind === 'failed' ? whole.reason : 'a held delete was resolved meanwhile',
            notifications: claimed.length,
          },
          'batch not written whole; writing one by one',
        );
        return settleOneByOne(groups, outcomes, workerId);
    }
  };
}
