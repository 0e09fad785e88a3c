// The ingest's retention: records of calls, rejected transactions (they hold the identity number), and
// the redelivery fingerprints of posts not touched within the redelivery window. A fingerprint row whose
// newest sequence is older than the window decides nothing: the intake treats it exactly as a post it has
// no row for (every sequence in it is outside the window), so removing it changes no answer and no queued
// notification. Kept that short, the table holds hours of posts instead of a month of them, and its key
// index of random hashes stays in memory at national volumes (docs/BENCHMARKS.md, "Scale").
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
  /** Fingerprint rows last changed before this go (the redelivery window and a margin before now). */
  fingerprintsBefore: Date;
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
        condition: sql`${ip.updatedAt} < ${rules.fingerprintsBefore.toISOString()}::timestamptz`,
      },
    ],
    options,
  );
}
