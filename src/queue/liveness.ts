// Liveness of the processes that hold leases (workers and senders). Each such process writes a heartbeat
// to `lease_holder` every WORKER_HEARTBEAT_SECONDS; each also looks, as often, for processes whose
// heartbeat is older than WORKER_DEAD_AFTER_SECONDS, and releases their claims in one transaction: its
// notifications become claimable at once (their lease_until is set to now; the claim queries are not
// touched), and every component holding leases of its own (the sender's deliveries) is given the dead
// process ids to do the same with its tables. A SIGKILLed worker's notifications are then taken over
// within seconds instead of after WORKER_LEASE_SECONDS. The lease stays as the backstop (a process of an
// older version without heartbeats, a heartbeat table lost).
//
// Safety does not rest on this: completing a notification is fenced on its lease owner, so a process
// declared dead that is in fact alive (its event loop stalled longer than the limit) loses its batch
// when another worker has taken it, and its effects roll back.
import { and, eq, lt, ne, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Database, Executor } from '../db/index.js';
import { inboundNotifications as n, leaseHolders as holders, STATUS } from './schema.js';
import type { Logger } from '../logging.js';

/** Releases the claims of dead processes in one component's tables, inside the reaping transaction. */
export interface LeaseReleaser {
  /** What is released, for logs and metrics (`notifications`, `deliveries`). */
  readonly name: string;
  release(tx: Executor, deadProcesses: readonly string[]): Promise<number>;
}

export interface LivenessOptions {
  database: Database;
  /** This process's worker id: its leases are owned by it or by `<processId>/<suffix>`. */
  processId: string;
  roles: readonly string[];
  log: Logger;
  /** WORKER_HEARTBEAT_SECONDS in ms. Default 1000. */
  heartbeatMs?: number;
  /** WORKER_DEAD_AFTER_SECONDS in ms: a heartbeat older than this means the process is dead. Default 5000. */
  deadAfterMs?: number;
  releasers: readonly LeaseReleaser[];
  /**
   * The embedded database: only one process can open it, so every other registered process is dead
   * and is reaped at start without waiting.
   */
  exclusive?: boolean;
  /** Told of each dead process reaped, with what was released per releaser (metrics, tests). */
  onReaped?: (event: { processes: readonly string[]; released: Record<string, number> }) => void;
}

export interface Liveness {
  /** Whether this process's last heartbeat was written recently enough that nobody can have declared it dead. */
  fresh(): boolean;
  /** One heartbeat and one look for dead processes (the loop does this every heartbeat). */
  beat(): Promise<void>;
  /** Stops the loop and removes this process's row: a clean stop leaves nothing to reap. */
  stop(): Promise<void>;
}

/**
 * Whether a lease owner column names one of the processes: the id itself, or `<id>/<suffix>` (rounds, partitions,
 * sender).
 */
export function ownedBy(column: SQLWrapper, processes: readonly string[]): SQL {
  return sql`split_part(${column}, '/', 1) in (${sql.join(
    processes.map((process) => sql`${process}`),
    sql`, `,
  )})`;
}

/** The queue's own releaser: a dead process's notifications are claimable again now. */
export const notificationLeases: LeaseReleaser = {
  name: 'notifications',
  async release(tx, deadProcesses) {
    const released = await tx
      .update(n)
      .set({ leaseUntil: sql`now()` })
      .where(
        and(sql`${n.status} = ${STATUS.pending}`, sql`${n.leaseUntil} > now()`, ownedBy(n.leaseOwner, deadProcesses)),
      )
      .returning({ id: n.id });
    return released.length;
  },
};

export async function startLiveness(options: LivenessOptions): Promise<Liveness> {
  const { database, processId, log } = options;
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const deadAfterMs = options.deadAfterMs ?? 5000;
  let lastBeat = 0;
  /** Since when this process's heartbeats have come without a gap as long as the dead limit. */
  let beatingSince = 0;

  async function heartbeat(): Promise<void> {
    await database.orm
      .insert(holders)
      .values({ processId, roles: options.roles.join(',') })
      .onConflictDoUpdate({ target: holders.processId, set: { heartbeatAt: sql`now()` } });
    const at = Date.now();
    if (at - lastBeat >= deadAfterMs) beatingSince = at;
    lastBeat = at;
  }

  async function reap(everyOther: boolean): Promise<void> {
    const outcome = await database.orm.transaction(async (tx) => {
      // Deleting the rows takes them: two live processes never reap the same dead one twice.
      const dead = await tx
        .delete(holders)
        .where(
          everyOther
            ? ne(holders.processId, processId)
            : lt(holders.heartbeatAt, sql`now() - make_interval(secs => ${deadAfterMs / 1000})`),
        )
        .returning({
          processId: holders.processId,
          silentMs: sql<number>`floor(extract(epoch from now() - ${holders.heartbeatAt}) * 1000)::bigint`.mapWith(
            Number,
          ),
        });
      if (dead.length === 0) return undefined;
      const processes = dead.map((row) => row.processId);
      const released: Record<string, number> = {};
      for (const releaser of options.releasers) released[releaser.name] = await releaser.release(tx, processes);
      return { processes, released, silentMs: dead.map((row) => row.silentMs) };
    });
    if (!outcome) return;
    log.warn(
      { processes: outcome.processes, silentMs: outcome.silentMs, released: outcome.released },
      'processes without a heartbeat are taken for dead: their claims are released',
    );
    options.onReaped?.({ processes: outcome.processes, released: outcome.released });
  }

  async function beat(): Promise<void> {
    await heartbeat();
    // After a gap of our own (the database was away, or this process stalled), everybody else missed
    // theirs too: they get a full period to write one again before anyone is taken for dead.
    if (Date.now() - beatingSince >= deadAfterMs) await reap(false);
  }

  await heartbeat();
  // Just started: others had no reason to miss a beat on our account; a dead one is dead.
  beatingSince = 0;
  if (options.exclusive) await reap(true);

  let stopped = false;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = beat()
      .catch((error: unknown) =>
        log.warn({ reason: error instanceof Error ? error.message : 'unknown' }, 'heartbeat not written'),
      )
      .finally(() => (running = undefined));
  }, heartbeatMs);
  timer.unref();

  return {
    // One heartbeat short of the limit: a process that cannot write its heartbeat stops handing over
    // before others can take it for dead.
    fresh: () => Date.now() - lastBeat < Math.max(deadAfterMs - heartbeatMs, deadAfterMs / 2),
    beat,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await database.orm
        .delete(holders)
        .where(eq(holders.processId, processId))
        .catch(() => {});
    },
  };
}
