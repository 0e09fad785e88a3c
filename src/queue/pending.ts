// How many accepted notifications still wait for the worker: for the demo (which waits for each of its
// steps) and for the log line that says why nothing happens when GetBookingDetails is not configured.
import { sql } from 'drizzle-orm';
import { columnNames, decodeCount, rows, type Database } from '../db/index.js';
import { inboundNotifications, STATUS } from './schema.js';

const c = columnNames(inboundNotifications);

/** Pending notifications, of one citizen or of all (both counts use a partial index on pending rows). */
export async function pendingNotificationCount(database: Database, resident?: string): Promise<number> {
  const [row] = await rows<{ pending: number }>(
    database.orm,
    resident === undefined
      ? sql`select count(*)::int as pending from ${inboundNotifications} where ${c.status} = ${STATUS.pending}`
      : sql`select count(*)::int as pending from ${inboundNotifications} where ${c.status} = ${STATUS.pending} and ${c.resident} = ${resident}`,
  );
  return decodeCount(row?.pending);
}
