// What the other components may know of the queue, asked here rather than of inbound_notification: the
// depth for /metrics, whether a notification waits for a retry, whether a new post is still on its first
// try (the release of held deletes waits for it), and one booking's notifications for the trace.
import { sql, type SQL } from 'drizzle-orm';
import { decodeCount, decodeDate, decodeId, rows, type Database, type Executor } from '../db/index.js';
import { STATUS, type NotificationStatus } from './schema.js';

/** Pending notifications and when the oldest was received; one query, both on the pending index. */
export async function queueDepth(database: Database): Promise<{ pending: number; oldest: Date | undefined }> {
  const [row] = await rows<{ pending: number; oldest: string | Date | null }>(
    database.orm,
    sql`select (select count(*)::int from inbound_notification where status = ${STATUS.pending}) as pending,
               (select received_at from inbound_notification where status = ${STATUS.pending} order by id limit 1) as oldest`,
  );
  return { pending: decodeCount(row?.pending), oldest: row?.oldest ? decodeDate(row.oldest) : undefined };
}

/** Whether a notification is pending with its next try in the future (it was put back for a retry). */
export async function waitsForRetry(executor: Executor, id: number): Promise<boolean> {
  const [row] = await rows<{ n: number }>(
    executor,
    sql`select count(*)::int as n from inbound_notification where id = ${id} and status = ${STATUS.pending} and available_at > now()`,
  );
  return decodeCount(row?.n) > 0;
}

/**
 * A condition for the caller's statement: a new or updated post of the citizen at the source system,
 * received in [from, until), is pending and still on its first try. The arguments are the caller's
 * column expressions (a correlated sub-query, so that the caller's statement stays one statement).
 */
export function firstTryNewPostPending(of: { resident: SQL; sourceSystem: SQL; from: SQL; until: SQL }): SQL {
  return sql`exists (
    select 1 from inbound_notification n
    where n.status = ${STATUS.pending} and not n.delete_flag and n.attempts = 0
      and n.resident = ${of.resident} and n.source_system = ${of.sourceSystem}
      and n.received_at >= ${of.from} and n.received_at < ${of.until})`;
}

export interface TracedNotification {
  id: number;
  receivedAt: Date;
  deleteFlag: boolean;
  status: NotificationStatus;
  attempts: number;
  lastError: string | null;
  deliveredMode: string | null;
  categorization: string | null;
  logicalAddress: string | null;
}

/**
 * One booking's notifications for the administrators' trace: the given (decided) ids, and those of the
 * booking not yet decided (pending) or given up (dead), found by the partial indexes.
 */
export async function notificationsOfBooking(
  database: Database,
  booking: {
    decidedIds: readonly number[];
    sourceSystem: string;
    sourceSystemAsGiven: string;
    bookingId: string;
    limit: number;
  },
): Promise<TracedNotification[]> {
  const found = await rows<{
    id: string | number;
    received_at: Date | string;
    delete_flag: boolean;
    status: NotificationStatus;
    attempts: number;
    last_error: string | null;
    delivered_mode: string | null;
    categorization: string | null;
    logical_address: string | null;
  }>(
    database.orm,
    sql`select id, received_at, delete_flag, status, attempts, last_error, delivered_mode,
               engagement->>'categorization' as categorization, engagement->>'logicalAddress' as logical_address
        from inbound_notification
        where id = any(${`{${booking.decidedIds.join(',')}}`}::bigint[])
           or (status = ${STATUS.pending} and upper(source_system) = ${booking.sourceSystem} and engagement->>'businessObjectInstanceIdentifier' = ${booking.bookingId})
           or (status = ${STATUS.dead} and source_system in (${booking.sourceSystem}, ${booking.sourceSystemAsGiven}) and engagement->>'businessObjectInstanceIdentifier' = ${booking.bookingId})
        order by id limit ${booking.limit}`,
  );
  return found.map((row) => ({
    id: decodeId(row.id),
    receivedAt: decodeDate(row.received_at),
    deleteFlag: row.delete_flag,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    deliveredMode: row.delivered_mode,
    categorization: row.categorization,
    logicalAddress: row.logical_address,
  }));
}
