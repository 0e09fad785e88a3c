// How many accepted notifications still wait for the worker: for the demo (which waits for each of its
// steps) and for the log line that says why nothing happens when GetBookingDetails is not configured.
import { and, count, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { inboundNotifications as n, STATUS } from './schema.js';

/** Pending notifications, of one citizen or of all (both counts use a partial index on pending rows). */
export async function pendingNotificationCount(database: Database, resident?: string): Promise<number> {
  const [row] = await database.orm
    .select({ pending: count() })
    .from(n)
    .where(and(sql`${n.status} = ${STATUS.pending}`, resident === undefined ? undefined : eq(n.resident, resident)));
  return row?.pending ?? 0;
}
