// What the other components may know of the queue, asked here rather than of inbound_notification: the
// depth for /metrics, whether a notification waits for a retry, whether a new post is still on its first
// try (the release of held deletes waits for it), and one booking's notifications for the trace.
import { and, asc, eq, or, sql, type SQL } from 'drizzle-orm';
import { columnNames, decodeCount, decodeDate, rows, type Database, type Executor } from '../db/index.js';
import { inboundNotifications, STATUS, type NotificationStatus } from './schema.js';

// Raw statements name the table's columns through its schema (a renamed column no longer compiles).
const c = columnNames(inboundNotifications);
const n = inboundNotifications;

/** Pending notifications and when the oldest was received; one query, both on the pending index. */
export async function queueDepth(database: Database): Promise<{ pending: number; oldest: Date | undefined }> {
  const [row] = await rows<{ pending: number; oldest: string | Date | null }>(
    database.orm,
    sql`select (select count(*)::int from ${inboundNotifications} where ${c.status} = ${STATUS.pending}) as pending,
               (select ${c.receivedAt} from ${inboundNotifications} where ${c.status} = ${STATUS.pending}
                order by ${c.id} limit 1) as oldest`,
  );
  return { pending: decodeCount(row?.pending), oldest: row?.oldest ? decodeDate(row.oldest) : undefined };
}

/** Whether a notification is pending with its next try in the future (it was put back for a retry). */
export async function waitsForRetry(executor: Executor, id: number): Promise<boolean> {
  const found = await executor
    .select({ id: n.id })
    .from(n)
    .where(and(eq(n.id, id), sql`${n.status} = ${STATUS.pending}`, sql`${n.availableAt} > now()`));
  return found.length > 0;
}

/**
 * A condition for the caller's statement: a new or updated post of the citizen at the source system,
 * received in [from, until), is pending and still on its first try. The arguments are the caller's
 * column expressions (a correlated sub-query, so that the caller's statement stays one statement).
 */
export function firstTryNewPostPending(of: { resident: SQL; sourceSystem: SQL; from: SQL; until: SQL }): SQL {
  return sql`exists (
    select 1 from ${inboundNotifications} n
    where n.${c.status} = ${STATUS.pending} and not n.${c.deleteFlag} and n.${c.attempts} = 0
      and n.${c.resident} = ${of.resident} and n.${c.sourceSystem} = ${of.sourceSystem}
      and n.${c.receivedAt} >= ${of.from} and n.${c.receivedAt} < ${of.until})`;
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
  const bookingId = sql`${n.engagement}->>'businessObjectInstanceIdentifier' = ${booking.bookingId}`;
  const found = await database.orm
    .select({
      id: n.id,
      receivedAt: n.receivedAt,
      deleteFlag: n.deleteFlag,
      status: n.status,
      attempts: n.attempts,
      lastError: n.lastError,
      deliveredMode: n.deliveredMode,
      categorization: sql<string | null>`${n.engagement}->>'categorization'`,
      logicalAddress: sql<string | null>`${n.engagement}->>'logicalAddress'`,
    })
    .from(n)
    .where(
      or(
        sql`${n.id} = any(${`{${booking.decidedIds.join(',')}}`}::bigint[])`,
        and(sql`${n.status} = ${STATUS.pending}`, sql`upper(${n.sourceSystem}) = ${booking.sourceSystem}`, bookingId),
        and(
          sql`${n.status} = ${STATUS.dead}`,
          sql`${n.sourceSystem} in (${booking.sourceSystem}, ${booking.sourceSystemAsGiven})`,
          bookingId,
        ),
      ),
    )
    .orderBy(asc(n.id))
    .limit(booking.limit);
  return found.map((row) => ({ ...row, status: row.status as NotificationStatus }));
}
