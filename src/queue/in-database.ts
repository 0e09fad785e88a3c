// The in-database queue of accepted notifications, consumer side. A worker claims items with a lease.
// Order is kept where it matters, and nowhere else (so that one care unit's outage or one poison booking
// delays nothing else):
//   - per post: a post's items are handed out in order and to one worker at a time (an item is not
//     claimable while another item of its post is leased, nor while an earlier one is due). A delete may
//     pass earlier items of its post that wait for a retry: it settles the post, and the engine marks
//     them superseded in the delete's transaction;
//   - per citizen and source system, for the rebooking window only: a new or updated post waits until the
//     earlier deletes of its citizen at the same source system are processed (they never wait for a
//     producer), so that it sees their held cancellations.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { and, asc, count, eq, sql, type SQL } from 'drizzle-orm';
import { maskPersonalData } from '../logging.js';
import { DELIVERY_MODES, type DeliveryMode } from '../activation-registry/index.js';
import {
  columnNames,
  decodeCount,
  decodeDate,
  decodeId,
  decodeJson,
  rows,
  type Database,
  type Executor,
} from '../db/index.js';
import { inboundNotifications, STATUS, type NotificationStatus } from './schema.js';
import type { Engagement } from '../process-notifications/index.js';

export interface QueuedNotification {
  id: number;
  keyHash: string;
  resident: string;
  sourceSystem: string;
  deleteFlag: boolean;
  /** The source system's mode when EI delivered it; undefined only for rows from before it was kept. */
  deliveredMode: DeliveryMode | undefined;
  engagement: Engagement;
  receivedAt: Date;
  attempts: number;
}

interface QueueRow {
  id: string | number;
  key_hash: string;
  resident: string;
  source_system: string;
  delete_flag: boolean;
  delivered_mode: string | null;
  engagement: Engagement | string;
  received_at: Date | string;
  attempts: number;
}

// Raw statements name the table's columns through its schema (a renamed column no longer compiles).
const c = columnNames(inboundNotifications);
const n = inboundNotifications;

// Conditions for the query builder. The status is a literal, not a bind parameter (see STATUS), and a set
// of ids one array parameter, so the statement's text does not change with the number of ids.
const statusIs = (status: NotificationStatus): SQL => sql`${n.status} = ${STATUS[status]}`;
const idIn = (ids: readonly number[]): SQL => sql`${n.id} = any(${`{${ids.join(',')}}`}::bigint[])`;

const RETURNING = sql.join(
  [
    c.id,
    c.keyHash,
    c.resident,
    c.sourceSystem,
    c.deleteFlag,
    c.deliveredMode,
    c.engagement,
    c.receivedAt,
    c.attempts,
  ].map((column) => sql`n.${column}`),
  sql`, `,
);

function toQueued(row: QueueRow): QueuedNotification {
  return {
    id: decodeId(row.id),
    keyHash: row.key_hash,
    resident: row.resident,
    sourceSystem: row.source_system,
    deleteFlag: row.delete_flag,
    deliveredMode: (DELIVERY_MODES as readonly string[]).includes(row.delivered_mode ?? '')
      ? (row.delivered_mode as DeliveryMode)
      : undefined,
    engagement: decodeJson<Engagement>(row.engagement),
    receivedAt: decodeDate(row.received_at),
    attempts: row.attempts,
  };
}

export function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface ClaimOptions {
  workerId: string;
  /** How many posts per claim. */
  posts: number;
  /** How many consecutive items of one post per claim. */
  perPost: number;
  leaseMs: number;
  /**
   * Only items received at least this long ago (Kafka mode: fresh items come through the consumer
   * group; the table loop takes retries, stragglers and items of workers that died).
   */
  minAgeMs?: number;
}

/**
 * Claims the next items: up to `posts` posts' first claimable item (see the ordering rules above), each
 * with the items of its post that follow it, up to the next delete of another post of the citizen at the
 * same source system.
 */
export async function claimNotifications(database: Database, options: ClaimOptions): Promise<QueuedNotification[]> {
  const claimed = await database.orm.transaction(async (tx) => {
    await tx.execute(CLAIM_PLANNER_SETTINGS);
    return rows<QueueRow>(tx, claimStatement(options));
  });
  const items = claimed.map(toQueued).sort((a, b) => a.id - b.id);
  // Statistics only speed the next claims: a failure here must not fail the claim (its items are leased).
  if (new Set(items.map((item) => item.keyHash)).size >= options.posts)
    await keepStatisticsCurrent(database, options.posts).catch(() => {});
  return items;
}

/** When this process last looked at the queue's statistics, per database: at most once a minute. */
const statisticsCheckedAt = new WeakMap<Database, number>();
const STATISTICS_CHECK_MS = 60_000;
/** An advisory lock key of its own: one process analyzes at a time, the others go on claiming. */
const ANALYZE_LOCK = 0x65_69_71_61; // "eiqa"

/**
 * A full claim means at least `heads` notifications were pending. If the planner believes fewer (the pending
 * index's row count from the last vacuum or analyze: a queue vacuumed while empty stays "empty" however
 * much is queued next), it picks whole walks of that index over lookups by post, once per post of every
 * claim (0.28 s instead of 0.02 s a claim with 5,000 pending on bench:scale's database). Autovacuum
 * corrects this within its round and 1 % of the table; this corrects it at once, and without autovacuum.
 */
async function keepStatisticsCurrent(database: Database, heads: number): Promise<void> {
  const now = Date.now();
  if (now - (statisticsCheckedAt.get(database) ?? 0) < STATISTICS_CHECK_MS) return;
  statisticsCheckedAt.set(database, now);
  await database.orm.transaction(async (tx) => {
    const [row] = await rows<{ planned: number | string | null }>(
      tx,
      sql`select reltuples::float8 as planned from pg_class where oid = 'inbound_notification_pending_idx'::regclass`,
    );
    if (Number(row?.planned ?? 0) >= heads) return;
    const [lock] = await rows<{ locked: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(${ANALYZE_LOCK}) as locked`,
    );
    if (lock?.locked) await tx.execute(sql`analyze ${inboundNotifications}`);
  });
}

// Every step of the claim must walk an index in id order and stop early. With statistics that lag the queue
// (a reload of a million posts queued in minutes; autovacuum off or behind) the planner chose bitmap scans
// of every pending row and a sort instead: seconds a claim. Run first in the claim's transaction; they last
// that transaction.
export const CLAIM_PLANNER_SETTINGS = sql`select set_config('enable_bitmapscan', 'off', true),
  set_config('enable_sort', 'off', true)`;

/** The claim's one statement (exported for the test of its plan). */
export function claimStatement(options: ClaimOptions): SQL {
  const leaseSeconds = options.leaseMs / 1000;
  const oldEnough = options.minAgeMs
    ? sql`and n.${c.receivedAt} <= now() - make_interval(secs => ${options.minAgeMs / 1000})`
    : sql``;
  return sql`
  with horizon as materialized (
    -- How far to look: up to the oldest 3 x posts due items, walked in id order on the pending index (not
    -- every pending row: a backlog of a million must not make each claim read a million rows).
    select max(c.id) as id from (
      select n.${c.id} from ${inboundNotifications} n
      where n.${c.status} = ${STATUS.pending} and n.${c.availableAt} <= now()
        and (n.${c.leaseUntil} is null or n.${c.leaseUntil} < now())
        ${oldEnough}
      order by n.${c.id}
      limit ${options.posts * 3}) c
  ), heads as (
    -- In id order on the pending index, stopping at the wanted number of posts.
    select n.${c.id}, n.${c.keyHash}, n.${c.resident}, n.${c.sourceSystem} from ${inboundNotifications} n
    where n.${c.status} = ${STATUS.pending} and n.${c.id} <= (select id from horizon) and n.${c.availableAt} <= now()
      and (n.${c.leaseUntil} is null or n.${c.leaseUntil} < now())
      ${oldEnough}
      -- one worker per post at a time, and the post's order (a delete passes earlier items that wait for a retry)
      -- ("offset 0" keeps this a lookup per head on the post's index. Turned into a join, it read every
      -- pending row once per head when the statistics of a table of millions of done rows said "no pending
      -- rows": 2.4 s instead of 0.2 s per claim with 2,000 pending, on the bench:scale database.)
      and not exists (
        select 1 from ${inboundNotifications} e
        where e.${c.status} = ${STATUS.pending} and e.${c.keyHash} = n.${c.keyHash} and e.${c.id} <> n.${c.id}
          and (e.${c.leaseUntil} >= now()
            or (e.${c.id} < n.${c.id} and (not n.${c.deleteFlag} or e.${c.availableAt} <= now())))
        offset 0)
      -- a new or updated post comes after its citizen's earlier deletes at the source system
      and (n.${c.deleteFlag} or not exists (
        select 1 from ${inboundNotifications} d
        where d.${c.status} = ${STATUS.pending} and d.${c.deleteFlag} and d.${c.resident} = n.${c.resident}
          and d.${c.sourceSystem} = n.${c.sourceSystem} and d.${c.id} < n.${c.id}))
    order by n.${c.id}
    limit ${options.posts}
    for update skip locked
  ), picked as materialized (
    select f.id from heads h
    cross join lateral (
      select x.${c.id} from ${inboundNotifications} x
      where x.${c.status} = ${STATUS.pending} and x.${c.keyHash} = h.key_hash and x.${c.id} + 0 >= h.id
        and x.${c.id} + 0 < coalesce((
          select min(d.${c.id}) from ${inboundNotifications} d
          where d.${c.status} = ${STATUS.pending} and d.${c.deleteFlag} and d.${c.resident} = h.resident
            and d.${c.sourceSystem} = h.source_system
            and d.${c.keyHash} <> h.key_hash and d.${c.id} > h.id), 9223372036854775807)
      -- The walk must run on the post's index (key_hash, id): "+ 0" keeps the id bounds off the pending
      -- index and key_hash leads the order. Otherwise a planner with stale statistics (a queue filled faster
      -- than autovacuum analyzes it) walked every pending row in id order: 1.6-2.3 ms per head, 0.4 s a claim.
      order by x.${c.keyHash}, x.${c.id} limit ${options.perPost}
    ) f
  )
  -- The picked ids as an array: the update fetches them by primary key. Joined to "picked" instead, a
  -- planner whose statistics said the queue was empty (a vacuumed empty table refilled; autovacuum off)
  -- walked the whole table and re-ran the walk per post for each of its rows: minutes per claim.
  update ${inboundNotifications} n
  set ${c.leaseOwner} = ${options.workerId}, ${c.leaseUntil} = now() + make_interval(secs => ${leaseSeconds})
  where n.${c.id} = any(array(select id from picked))
  returning ${RETURNING}`;
}

/** True when the server runs without autovacuum, which keeps the queue's partial indexes and statistics. */
export async function autovacuumOff(database: Database): Promise<boolean> {
  const [row] = await rows<{ autovacuum: string }>(database.orm, sql`show autovacuum`);
  return row?.autovacuum === 'off';
}

interface OrderingRow {
  id: string | number;
  key_hash: string;
  resident: string;
  source_system: string;
  delete_flag: boolean;
  due: boolean;
  leased: boolean;
}

/**
 * Which of the candidates may be claimed together, by the ordering rules above: `others` are the other
 * pending items of the candidates' posts and their citizens' pending deletes. Pure (tested on its own).
 */
export function claimableTogether<
  T extends { id: number; keyHash: string; resident: string; sourceSystem: string; deleteFlag: boolean },
>(
  candidates: readonly T[],
  others: readonly {
    id: number;
    keyHash: string;
    resident: string;
    sourceSystem: string;
    deleteFlag: boolean;
    due: boolean;
    leased: boolean;
  }[],
): T[] {
  const byPost = new Map<string, { id: number; deleteFlag: boolean; due: boolean; leased: boolean; candidate?: T }[]>();
  const deletes = new Map<string, { id: number; blocked: () => boolean }[]>();
  const citizenSystem = (item: { resident: string; sourceSystem: string }) =>
    `${item.resident}\u001f${item.sourceSystem}`;
  const blocked = new Set<number>();
  for (const other of others) {
    const list = byPost.get(other.keyHash) ?? [];
    list.push(other);
    byPost.set(other.keyHash, list);
    if (other.deleteFlag) {
      const key = citizenSystem(other);
      deletes.set(key, [...(deletes.get(key) ?? []), { id: other.id, blocked: () => true }]);
    }
  }
  for (const candidate of candidates) {
    const list = byPost.get(candidate.keyHash) ?? [];
    list.push({ id: candidate.id, deleteFlag: candidate.deleteFlag, due: true, leased: false, candidate });
    byPost.set(candidate.keyHash, list);
    if (candidate.deleteFlag) {
      const key = citizenSystem(candidate);
      deletes.set(key, [...(deletes.get(key) ?? []), { id: candidate.id, blocked: () => blocked.has(candidate.id) }]);
    }
  }
  const sorted = [...candidates].sort((a, b) => a.id - b.id);
  for (const candidate of sorted) {
    const post = byPost.get(candidate.keyHash)!;
    const leasedElsewhere = post.some((item) => item.leased);
    // A delete taken here settles its post's earlier items that wait for a retry (they are superseded).
    const passedBy = Math.max(
      -1,
      ...post
        .filter((item) => item.candidate && item.deleteFlag && item.id <= candidate.id && !blocked.has(item.id))
        .map((item) => item.id),
    );
    // An earlier item not taken with this one must go first, unless it waits for a retry and a delete passes it.
    const earlierFirst = post.some(
      (item) => item.id < candidate.id && (!item.candidate || blocked.has(item.id)) && (item.due || item.id > passedBy),
    );
    const earlierDelete =
      !candidate.deleteFlag &&
      (deletes.get(citizenSystem(candidate)) ?? []).some((d) => d.id < candidate.id && d.blocked());
    if (leasedElsewhere || earlierFirst || earlierDelete) blocked.add(candidate.id);
  }
  return sorted.filter((candidate) => !blocked.has(candidate.id));
}

/**
 * Claims the given items (handed over by Kafka) under `workerId`, by the ordering rules of
 * claimNotifications: an item is claimed only when it is pending, due, not leased by a live worker, and
 * nothing it must wait for is left out. The rest is left to the table loop.
 */
export async function claimNotificationsById(
  database: Database,
  ids: readonly number[],
  workerId: string,
  leaseMs: number,
): Promise<QueuedNotification[]> {
  if (ids.length === 0) return [];
  const { pending, claimed } = await database.orm.transaction(async (tx) => {
    const candidates = (
      await rows<QueueRow>(
        tx,
        sql`select ${RETURNING} from ${inboundNotifications} n
            where n.${c.id} = any(${`{${ids.join(',')}}`}::bigint[]) and n.${c.status} = ${STATUS.pending}
              and n.${c.availableAt} <= now() and (n.${c.leaseUntil} is null or n.${c.leaseUntil} < now())
            order by n.${c.id}
            for update skip locked`,
      )
    ).map(toQueued);
    if (candidates.length === 0) return { pending: 0, claimed: [] };
    const others = await rows<OrderingRow>(tx, othersStatement(candidates));
    const claimable = claimableTogether(
      candidates,
      others.map((row) => ({
        id: decodeId(row.id),
        keyHash: row.key_hash,
        resident: row.resident,
        sourceSystem: row.source_system,
        deleteFlag: row.delete_flag,
        due: row.due,
        leased: row.leased,
      })),
    );
    if (claimable.length === 0) return { pending: candidates.length, claimed: [] };
    const claimed = await rows<QueueRow>(
      tx,
      sql`update ${inboundNotifications} n
          set ${c.leaseOwner} = ${workerId}, ${c.leaseUntil} = now() + make_interval(secs => ${leaseMs / 1000})
          where n.${c.id} = any(${`{${claimable.map((c) => c.id).join(',')}}`}::bigint[])
          returning ${RETURNING}`,
    );
    return { pending: candidates.length, claimed: claimed.map(toQueued).sort((a, b) => a.id - b.id) };
  });
  // At least that many were pending: if the planner believes fewer, it picks the wrong index for the
  // statement above (every index looks equally empty) and walks all pending rows.
  if (pending > 0) await keepStatisticsCurrent(database, pending).catch(() => {});
  return claimed;
}

/**
 * The pending items the candidates' order depends on: the other items of their posts, and their citizens'
 * pending deletes. Two lookups by key (a union, not one scan with an OR of both): its cost follows the
 * candidates, not the number pending (exported for the test of its plan).
 */
export function othersStatement(candidates: readonly Pick<QueuedNotification, 'id' | 'keyHash' | 'resident'>[]): SQL {
  const candidateIds = `{${candidates.map((item) => item.id).join(',')}}`;
  // As JSON (any text, quoted by JSON.stringify), made an array once: the index lookups take it as a key list.
  const textArray = (values: Iterable<string>) =>
    sql`array(select jsonb_array_elements_text(${JSON.stringify([...values])}::jsonb))`;
  const keyHashes = textArray(new Set(candidates.map((item) => item.keyHash)));
  const residents = textArray(new Set(candidates.map((item) => item.resident)));
  const columns = sql`e.${c.id}, e.${c.keyHash}, e.${c.resident}, e.${c.sourceSystem}, e.${c.deleteFlag},
    e.${c.availableAt} <= now() as due, coalesce(e.${c.leaseUntil} >= now(), false) as leased`;
  return sql`
    select ${columns} from ${inboundNotifications} e
    where e.${c.status} = ${STATUS.pending} and e.${c.keyHash} = any(${keyHashes})
      and e.${c.id} <> all(${candidateIds}::bigint[])
    union
    select ${columns} from ${inboundNotifications} e
    where e.${c.status} = ${STATUS.pending} and e.${c.deleteFlag} and e.${c.resident} = any(${residents})
      and e.${c.id} <> all(${candidateIds}::bigint[])`;
}

/** Which of the given items exist (are committed and visible). */
export async function existingNotificationIds(database: Database, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const found = await database.orm.select({ id: n.id }).from(n).where(idIn(ids));
  return new Set(found.map((row) => row.id));
}

/**
 * Marks items done inside the transaction that holds their effects. False: a lease was lost (another
 * worker took over after it lapsed), and the caller must roll back.
 */
export async function completeNotifications(tx: Executor, ids: readonly number[], workerId: string): Promise<boolean> {
  const done = await tx
    .update(n)
    .set({ status: STATUS.done, processedAt: sql`now()`, leaseOwner: null, leaseUntil: null, lastError: null })
    .where(and(idIn(ids), statusIs('pending'), eq(n.leaseOwner, workerId)))
    .returning({ id: n.id });
  return done.length === ids.length;
}

/**
 * Puts an item back for a later try (it keeps its place: its post's later items wait behind it).
 * `spendTry` false (the call was not made, e.g. the care unit's circuit breaker refused it) leaves the
 * count of tries, and so the backoff, where it was.
 */
export async function retryNotificationLater(
  database: Database,
  id: number,
  workerId: string,
  retry: { delayMs: number; reason: string; spendTry: boolean },
): Promise<void> {
  await database.orm
    .update(n)
    .set({
      attempts: sql`${n.attempts} + ${retry.spendTry ? 1 : 0}`,
      availableAt: sql`now() + make_interval(secs => ${retry.delayMs / 1000})`,
      lastError: retry.reason,
      leaseOwner: null,
      leaseUntil: null,
    })
    .where(and(eq(n.id, id), eq(n.leaseOwner, workerId)));
}

/**
 * Inside a delete's transaction: the post's earlier items still pending (waiting for a retry) are settled
 * as superseded: the delete decides the post's state, and their details no longer matter.
 */
export async function supersedeEarlier(
  tx: Executor,
  deletes: readonly { id: number; keyHash: string }[],
): Promise<number> {
  if (deletes.length === 0) return 0;
  const later = JSON.stringify(deletes.map((d) => ({ id: d.id, key_hash: d.keyHash })));
  const done = await rows<{ id: number }>(
    tx,
    sql`update ${inboundNotifications} n set ${c.status} = ${STATUS.done}, ${c.processedAt} = now(),
          ${c.leaseOwner} = null, ${c.leaseUntil} = null, ${c.lastError} = 'superseded by a later delete of the post'
        from jsonb_to_recordset(${later}::jsonb) as d(id bigint, key_hash text)
        where n.${c.keyHash} = d.key_hash and n.${c.id} < d.id and n.${c.status} = ${STATUS.pending}
        returning n.${c.id}`,
  );
  return done.length;
}

/** A permanent failure: the item becomes a dead letter at once, with its reason. */
export async function deadLetterNotification(
  database: Database,
  id: number,
  workerId: string,
  reason: string,
): Promise<void> {
  await database.orm
    .update(n)
    .set({
      status: STATUS.dead,
      attempts: sql`${n.attempts} + 1`,
      lastError: reason,
      leaseOwner: null,
      leaseUntil: null,
    })
    .where(and(eq(n.id, id), eq(n.leaseOwner, workerId)));
}

/**
 * Extends the lease of claimed items still pending under `workerId` (while their details are being
 * fetched, a wait on a care unit's call cap must not outlive the claim). Resolves to how many were
 * extended: fewer than asked means the claim of some was lost (taken over after it lapsed, or released by
 * the liveness of a worker taken for dead).
 */
export async function renewLeases(
  database: Database,
  ids: readonly number[],
  workerId: string,
  leaseMs: number,
): Promise<number> {
  if (ids.length === 0) return 0;
  const renewed = await database.orm
    .update(n)
    .set({ leaseUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where(and(idIn(ids), statusIs('pending'), eq(n.leaseOwner, workerId)))
    .returning({ id: n.id });
  return renewed.length;
}

/** Gives back claimed items that were not processed (an earlier item of the citizen must wait). */
export async function releaseNotifications(
  database: Database,
  ids: readonly number[],
  workerId: string,
): Promise<void> {
  if (ids.length === 0) return;
  await database.orm
    .update(n)
    .set({ leaseOwner: null, leaseUntil: null })
    .where(and(idIn(ids), eq(n.leaseOwner, workerId)));
}

export interface DeadLetter {
  id: number;
  sourceSystem: string;
  logicalAddress: string;
  categorization: string;
  /** The producer's booking id (for the trace); not personal data. */
  bookingId: string;
  deleteFlag: boolean;
  attempts: number;
  lastError: string | null;
  receivedAt: string;
}

/** Dead letters, oldest first; only those of `sourceSystem` when given (on the partial index of dead rows). */
export async function listDeadLetters(database: Database, limit = 100, sourceSystem?: string): Promise<DeadLetter[]> {
  const found = await database.orm
    .select({
      id: n.id,
      sourceSystem: n.sourceSystem,
      engagement: n.engagement,
      deleteFlag: n.deleteFlag,
      attempts: n.attempts,
      lastError: n.lastError,
      receivedAt: n.receivedAt,
    })
    .from(n)
    .where(and(statusIs('dead'), sourceSystem !== undefined ? eq(n.sourceSystem, sourceSystem) : undefined))
    .orderBy(asc(n.id))
    .limit(limit);
  return found.map((row) => {
    const engagement = row.engagement as Engagement;
    // Operators see where it came from and why it failed; not whose it is.
    return {
      id: row.id,
      sourceSystem: row.sourceSystem,
      logicalAddress: engagement.logicalAddress,
      categorization: engagement.categorization,
      // A booking id is the producer's own; one that looks like an identity number is masked all the same.
      bookingId: maskPersonalData(engagement.businessObjectInstanceIdentifier),
      deleteFlag: row.deleteFlag,
      attempts: row.attempts,
      lastError: row.lastError === null ? null : maskPersonalData(row.lastError),
      receivedAt: row.receivedAt.toISOString(),
    };
  });
}

/** Dead letters per source system (for /admin), on the partial index of dead rows. */
export async function countDeadLetters(database: Database): Promise<{ sourceSystem: string; deadLetters: number }[]> {
  return database.orm
    .select({ sourceSystem: n.sourceSystem, deadLetters: count() })
    .from(n)
    .where(statusIs('dead'))
    .groupBy(n.sourceSystem)
    .orderBy(n.sourceSystem);
}

/** A dead letter queued again from the start. */
const QUEUED_AGAIN = {
  status: STATUS.pending,
  attempts: 0,
  availableAt: sql`now()`,
  leaseOwner: null,
  leaseUntil: null,
};

/** An operator's retry of every dead letter of one source system; resolves to the ids queued again. */
export async function retryDeadLettersOf(executor: Executor, sourceSystem: string): Promise<number[]> {
  const updated = await executor
    .update(n)
    .set(QUEUED_AGAIN)
    .where(and(statusIs('dead'), eq(n.sourceSystem, sourceSystem)))
    .returning({ id: n.id });
  return updated.map((row) => row.id).sort((a, b) => a - b);
}

/** An operator's retry: the dead letter is queued again from the start. */
export async function retryDeadLetter(executor: Executor, id: number): Promise<boolean> {
  const updated = await executor
    .update(n)
    .set(QUEUED_AGAIN)
    .where(and(eq(n.id, id), statusIs('dead')))
    .returning({ id: n.id });
  return updated.length === 1;
}

/**
 * The flood guard caught a care unit: its notifications delivered as `active` since `since` that no
 * worker has taken yet are held too, so a burst spread over several calls makes no message before the
 * call that crossed the threshold. Rare (once per hold), over the pending rows only.
 */
export async function holdPendingOfUnits(
  executor: Executor,
  units: readonly { logicalAddress: string; since: Date }[],
): Promise<Map<string, number>> {
  if (units.length === 0) return new Map();
  const since = JSON.stringify(units.map((u) => ({ address: u.logicalAddress, since: u.since.toISOString() })));
  const updated = await rows<{ address: string; n: number }>(
    executor,
    sql`with held as (
          update ${inboundNotifications} n set ${c.deliveredMode} = 'held'
          from jsonb_to_recordset(${since}::jsonb) as u(address text, since timestamptz)
          where n.${c.status} = ${STATUS.pending} and n.${c.deliveredMode} = 'active'
            and (n.${c.leaseUntil} is null or n.${c.leaseUntil} < now())
            and n.${c.engagement}->>'logicalAddress' = u.address and n.${c.receivedAt} >= u.since
          returning u.address)
        select address, count(*)::int as n from held group by address`,
  );
  return new Map(updated.map((row) => [row.address, decodeCount(row.n)]));
}

export interface WaitingAddress {
  /** A care unit's logical address, or `other` for the addresses beyond the listed ones. */
  logicalAddress: string;
  waiting: number;
  oldestAgeSeconds: number;
}

/**
 * Notifications waiting for their producer (put back after a failure or a refusal), per logical address:
 * the `top` addresses with the most, and the rest summed up as `other`, so that the set stays bounded
 * however many care units fail at once (for /metrics labels and /readyz).
 */
export async function waitingByAddress(database: Database, top = 10): Promise<WaitingAddress[]> {
  const found = await rows<{ address: string; waiting: number; oldest: Date | string }>(
    database.orm,
    sql`select ${c.engagement}->>'logicalAddress' as address, count(*)::int as waiting, min(${c.receivedAt}) as oldest
        from ${inboundNotifications} where ${c.status} = ${STATUS.pending} and ${c.lastError} is not null
        group by 1 order by 2 desc, 1 limit 1000`,
  );
  const now = Date.now();
  const age = (oldest: Date | string) => Math.max(0, Math.round((now - decodeDate(oldest).getTime()) / 1000));
  const listed = found.slice(0, top).map((row) => ({
    logicalAddress: row.address,
    waiting: decodeCount(row.waiting),
    oldestAgeSeconds: age(row.oldest),
  }));
  const rest = found.slice(top);
  if (rest.length > 0) {
    listed.push({
      logicalAddress: 'other',
      waiting: rest.reduce((sum, row) => sum + decodeCount(row.waiting), 0),
      oldestAgeSeconds: Math.max(...rest.map((row) => age(row.oldest))),
    });
  }
  return listed;
}
