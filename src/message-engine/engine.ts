// The message engine's worker loop (role `worker`): claims queued notifications and hands each batch to
// process-batch.ts (fetch details -> decide -> write the effects with the queue's completion in one
// transaction), with rounds side by side; and releases held deletes on a loop of its own
// (release-held.ts). A batch's effects are written in one transaction together with marking its
// notifications done, so a crash at any point leads to each effect exactly once (the queue keeps the
// order: src/queue/in-database.ts).
import type { SourceSystemDirectory } from '../activation-registry/index.js';
import type { Database } from '../db/index.js';
import type { DetailsFetcher } from '../details-fetcher/index.js';
import type { Logger } from '../logging.js';
import { claimNotifications, DEFAULT_RETRY_PERIOD_MS, newWorkerId, type QueuedNotification } from '../queue/index.js';
import type { SourceActivity } from '../source-activity/index.js';
import { createBatchProcessor, describeError } from './process-batch.js';
import { createHeldReleaser } from './release-held.js';
import type { MessageRenderer } from './render-message.js';

/** How a notification is settled: done, retry (put back for later), dead (a dead letter). */
export const SETTLE_RESULTS = ['done', 'retry', 'dead'] as const;
export type SettleResult = (typeof SETTLE_RESULTS)[number];

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
  /**
   * How long after a held delete's window ends a new post delivered inside the window is still awaited (default 3
   * s).
   */
  releaseGraceMs?: number;
  /** How often held deletes are looked at (default 500 ms), on a loop of its own. */
  releaseEveryMs?: number;
  now?: () => Date;
  /** Told after each notification is settled (metrics, tests). */
  onSettled?: (outcome: { id: number; result: SettleResult; because: string }) => void;
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
  /**
   * Ends the idle rounds' pause at once: this process's ingest has just committed new notifications. (Other
   * processes find them at their next poll, `pollMs`.)
   */
  wake(): void;
  stop(): Promise<void>;
}

export function startMessageEngine(options: EngineOptions): MessageEngine {
  const { database, log } = options;
  const primaryWorkerId = options.workerId ?? newWorkerId();
  // Rounds run side by side, each as a worker of its own: one fetches while another writes.
  const parallelRounds = Math.max(1, options.parallelRounds ?? 2);
  const leaseMs = options.leaseMs ?? 60_000;
  const citizensPerRound = options.concurrency ?? 256;
  const now = options.now ?? (() => new Date());
  let stopped = false;
  const hooks = {
    ...(options.onSettled ? { onSettled: options.onSettled } : {}),
    ...(options.activity ? { activity: options.activity } : {}),
    ...(options.onMessagesCreated ? { onMessagesCreated: options.onMessagesCreated } : {}),
  };

  const processClaimed = createBatchProcessor({
    database,
    fetcher: options.fetcher,
    directory: options.directory,
    renderer: options.renderer,
    log,
    rebookWindowMs: options.rebookWindowMs,
    retryPeriodMs: options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
    fetchConcurrency: options.fetchConcurrency ?? 256,
    leaseMs,
    parallelRounds,
    now,
    ...hooks,
  });
  const releaseDueHolds = createHeldReleaser({
    database,
    directory: options.directory,
    renderer: options.renderer,
    log,
    releaseGraceMs: options.releaseGraceMs ?? 3_000,
    now,
    ...hooks,
  });

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

  const pollMs = options.pollMs ?? 200;
  const wakers = new Set<() => void>();
  // The idle claim loops' wakers (a subset of wakers): what wake() ends early.
  const idle = new Set<() => void>();
  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), pollMs);
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        idle.delete(done);
        resolve();
      };
      wakers.add(done);
      idle.add(done);
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
    wake() {
      for (const done of idle) done();
    },
    async stop() {
      stopped = true;
      for (const wake of wakers) wake();
      await loops;
      loops = undefined;
    },
  };
}
