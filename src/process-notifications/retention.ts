// The ingest's retention: records of calls, rejected transactions (they hold the identity number), and
// the redelivery fingerprints of posts not touched for a long time. A fingerprint only spares the worker
// a GetBookingDetails call for a redelivery; EI retries within minutes, and a re-send after the
// fingerprint is gone is fetched and found unchanged, so it makes no message either.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { columnNames, olderThan, purgeTables, type PurgeOptions } from '../db/index.js';
import { ingestPosts, notificationCalls, rejectedTransactions } from './schema.js';

const nc = columnNames(notificationCalls);
const rt = columnNames(rejectedTransactions);
const ip = columnNames(ingestPosts);

export interface IngestRetention {
  callsBefore: Date;
  rejectedBefore: Date;
}

export function purgeIngestRecords(
  database: Database,
  rules: IngestRetention,
  options: PurgeOptions,
): Promise<{ rejected_transaction: number; notification_call: number; ingest_post: number }> {
  const callsBefore = rules.callsBefore.toISOString();
  return purgeTables(
    database.orm,
    [
      olderThan(rejectedTransactions, rejectedTransactions.receivedAt, rules.rejectedBefore),
      {
        table: notificationCalls,
        key: { column: notificationCalls.id, type: 'bigint' },
        // A call keeps its record while a rejected transaction of it is kept.
        condition: sql`${nc.receivedAt} < ${callsBefore}::timestamptz
                     and not exists (select 1 from ${rejectedTransactions} r
                                     where r.${rt.callId} = ${notificationCalls}.${nc.id})`,
        stopAt: { column: notificationCalls.receivedAt, before: rules.callsBefore },
      },
      {
        table: ingestPosts,
        key: { column: ingestPosts.keyHash, type: 'text' },
        condition: sql`${ip.updatedAt} < ${callsBefore}::timestamptz`,
      },
    ],
    options,
  );
}
