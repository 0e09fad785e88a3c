// How many accepted notifications still wait for the worker: for the demo (which waits for each of its
// steps) and for the log line that says why nothing happens when GetBookingDetails is not configured.
import { sql } from 'drizzle-orm';
import { decodeCount, rows, type Database } from '../db/index.js';
import { STATUS } from './schema.js';

/** Pending notifications, of one citizen or of all (both counts use a partial index on pending rows). */
export async function pendingNotificationCount(database: Database, resident?: string): Promise<number> {
  const [row] = await rows<{ pending: number }>(
    database.orm,
    resident === undefined
      ? sql`select count(*)::int as pending from inbound_notification where status = ${STATUS.pending}`
      : sql`select count(*)::int as pending from inbound_notification where status = ${STATUS.pending} and resident = ${resident}`,
  );
  return decodeCount(row?.pending);
}
