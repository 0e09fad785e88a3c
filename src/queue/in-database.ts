// The in-database queue of accepted notifications, consumer side. A worker claims items with a lease;
// one citizen's items are handed out in order and never to two workers at once: an item is claimable
// only when no earlier item of the same citizen is still pending.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { rows, type Database, type Executor } from '../db/database.js';
import type { Engagement } from '../process-notifications/engagement.js';

export interface QueuedNotification {
  id: number;
  keyHash: string;
  resident: string;
  sourceSystem: string;
  deleteFlag: boolean;
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
  engagement: Engagement | string;
  received_at: Date | string;
  attempts: number;
}

function toQueued(row: QueueRow): QueuedNotification {
  return {
    id: Number(row.id),
    keyHash: row.key_hash,
    resident: row.resident,
    sourceSystem: row.source_system,
    deleteFlag: row.delete_flag,
    engagement: typeof row.engagement === 'string' ? (JSON.parse(row.engagement) as Engagement) : row.engagement,
    receivedAt: new Date(row.received_at),
    attempts: row.attempts,
  };
}

export function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface ClaimOptions {
  workerId: string;
  /** How many citizens per claim. */
  citizens: number;
  /** How many consecutive items of one citizen per claim. */
  perCitizen: number;
  leaseMs: number;
  /**
   * Only items received at least this long ago (Kafka mode: fresh items come through the consumer
   * group; the table loop takes retries, stragglers and items of workers that died).
   */
  minAgeMs?: number;
}

/** Claims the next items: the earliest pending item of up to `citizens` citizens, with their followers. */
export async function claimNotifications(database: Database, options: ClaimOptions): Promise<QueuedNotification[]> {
  const leaseSeconds = options.leaseMs / 1000;
  const claimed = await rows<QueueRow>(
    database.orm,
    sql`
    with heads as (
      select n.id, n.resident from inbound_notification n
      where n.status = 'pending' and n.available_at <= now()
        and (n.lease_until is null or n.lease_until < now())
        ${options.minAgeMs ? sql`and n.received_at <= now() - make_interval(secs => ${options.minAgeMs / 1000})` : sql``}
        and not exists (
          select 1 from inbound_notification e
          where e.status = 'pending' and e.resident = n.resident and e.id < n.id)
      order by n.id
      limit ${options.citizens}
      for update skip locked
    ), picked as (
      select f.id from heads h
      cross join lateral (
        select x.id from inbound_notification x
        where x.status = 'pending' and x.resident = h.resident and x.id >= h.id
        order by x.id limit ${options.perCitizen}
      ) f
    )
    update inbound_notification n
    set lease_owner = ${options.workerId}, lease_until = now() + make_interval(secs => ${leaseSeconds})
    from picked where n.id = picked.id
    returning n.id, n.key_hash, n.resident, n.source_system, n.delete_flag, n.engagement, n.received_at, n.attempts`,
  );
  return claimed.map(toQueued).sort((a, b) => a.id - b.id);
}

/**
 * Claims the given items (handed over by Kafka) under `workerId`, by the ordering rule of
 * claimNotifications: an item is claimed only when it is pending, due, not leased by a live worker, and
 * every earlier pending item of its citizen is claimed with it. The rest is left to the table loop.
 */
export async function claimNotificationsById(
  database: Database,
  ids: readonly number[],
  workerId: string,
  leaseMs: number,
): Promise<QueuedNotification[]> {
  if (ids.length === 0) return [];
  const claimed = await rows<QueueRow>(
    database.orm,
    sql`
    with candidate as (
      select n.id, n.resident from inbound_notification n
      where n.id = any(${`{${ids.join(',')}}`}::bigint[]) and n.status = 'pending' and n.available_at <= now()
        and (n.lease_until is null or n.lease_until < now())
      order by n.id
      for update skip locked
    ), blocked as (
      select c.id from candidate c
      where exists (
        select 1 from inbound_notification e
        where e.status = 'pending' and e.resident = c.resident and e.id < c.id
          and e.id not in (select id from candidate))
    )
    update inbound_notification n
    set lease_owner = ${workerId}, lease_until = now() + make_interval(secs => ${leaseMs / 1000})
    from candidate c where n.id = c.id and c.id not in (select id from blocked)
    returning n.id, n.key_hash, n.resident, n.source_system, n.delete_flag, n.engagement, n.received_at, n.attempts`,
  );
  return claimed.map(toQueued).sort((a, b) => a.id - b.id);
}

/** Which of the given items exist (are committed and visible). */
export async function existingNotificationIds(database: Database, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const found = await rows<{ id: string | number }>(
    database.orm,
    sql`select id from inbound_notification where id = any(${`{${ids.join(',')}}`}::bigint[])`,
  );
  return new Set(found.map((row) => Number(row.id)));
}

/**
 * Marks items done inside the transaction that holds their effects. False: a lease was lost (another
 * worker took over after it lapsed), and the caller must roll back.
 */
export async function completeNotifications(tx: Executor, ids: readonly number[], workerId: string): Promise<boolean> {
  const done = await rows<{ id: number }>(
    tx,
    sql`update inbound_notification set status = 'done', processed_at = now(), lease_owner = null, lease_until = null, last_error = null
        where id = any(${`{${ids.join(',')}}`}::bigint[]) and status = 'pending' and lease_owner = ${workerId} returning id`,
  );
  return done.length === ids.length;
}

/** Puts an item back for a later try; after the last allowed try it becomes a dead letter. */
export async function retryNotificationLater(
  database: Database,
  id: number,
  workerId: string,
  delayMs: number,
  reason: string,
  maxAttempts: number,
): Promise<'retry' | 'dead'> {
  const [row] = await rows<{ status: string }>(
    database.orm,
    sql`update inbound_notification
        set attempts = attempts + 1,
            status = case when attempts + 1 >= ${maxAttempts} then 'dead' else 'pending' end,
            available_at = now() + make_interval(secs => ${delayMs / 1000}),
            last_error = ${reason}, lease_owner = null, lease_until = null
        where id = ${id} and lease_owner = ${workerId}
        returning status`,
  );
  return row?.status === 'dead' ? 'dead' : 'retry';
}

/** A permanent failure: the item becomes a dead letter at once, with its reason. */
export async function deadLetterNotification(database: Database, id: number, workerId: string, reason: string): Promise<void> {
  await database.orm.execute(
    sql`update inbound_notification set status = 'dead', attempts = attempts + 1, last_error = ${reason}, lease_owner = null, lease_until = null
        where id = ${id} and lease_owner = ${workerId}`,
  );
}

/** Gives back claimed items that were not processed (an earlier item of the citizen must wait). */
export async function releaseNotifications(database: Database, ids: readonly number[], workerId: string): Promise<void> {
  if (ids.length === 0) return;
  await database.orm.execute(
    sql`update inbound_notification set lease_owner = null, lease_until = null
        where id = any(${`{${ids.join(',')}}`}::bigint[]) and lease_owner = ${workerId}`,
  );
}

export interface DeadLetter {
  id: number;
  sourceSystem: string;
  logicalAddress: string;
  categorization: string;
  deleteFlag: boolean;
  attempts: number;
  lastError: string | null;
  receivedAt: string;
}

export async function listDeadLetters(database: Database, limit = 100): Promise<DeadLetter[]> {
  const found = await rows<{
    id: string | number;
    source_system: string;
    engagement: Engagement | string;
    delete_flag: boolean;
    attempts: number;
    last_error: string | null;
    received_at: Date | string;
  }>(
    database.orm,
    sql`select id, source_system, engagement, delete_flag, attempts, last_error, received_at
        from inbound_notification where status = 'dead' order by id limit ${limit}`,
  );
  return found.map((row) => {
    const engagement = typeof row.engagement === 'string' ? (JSON.parse(row.engagement) as Engagement) : row.engagement;
    // Operators see where it came from and why it failed; not whose it is.
    return {
      id: Number(row.id),
      sourceSystem: row.source_system,
      logicalAddress: engagement.logicalAddress,
      categorization: engagement.categorization,
      deleteFlag: row.delete_flag,
      attempts: row.attempts,
      lastError: row.last_error,
      receivedAt: new Date(row.received_at).toISOString(),
    };
  });
}

/** An operator's retry: the dead letter is queued again from the start. */
export async function retryDeadLetter(database: Database, id: number): Promise<boolean> {
  const updated = await rows<{ id: number }>(
    database.orm,
    sql`update inbound_notification set status = 'pending', attempts = 0, available_at = now(), lease_owner = null, lease_until = null
        where id = ${id} and status = 'dead' returning id`,
  );
  return updated.length === 1;
}
