// The ingest's retention: records of calls, rejected transactions (they hold the identity number), and
// the redelivery fingerprints of posts not touched for a long time. A fingerprint only spares the worker
// a GetBookingDetails call for a redelivery; EI retries within minutes, and a re-send after the
// fingerprint is gone is fetched and found unchanged, so it makes no message either.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { olderThan, purgeTables, type PurgeOptions } from '../db/index.js';

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
      olderThan('rejected_transaction', 'received_at', rules.rejectedBefore),
      {
        table: 'notification_call',
        key: { column: 'id', type: 'bigint' },
        // A call keeps its record while a rejected transaction of it is kept.
        condition: sql`received_at < ${callsBefore}::timestamptz
                     and not exists (select 1 from rejected_transaction r where r.call_id = notification_call.id)`,
        stopAt: { column: 'received_at', before: rules.callsBefore },
      },
      {
        table: 'ingest_post',
        key: { column: 'key_hash', type: 'text' },
        condition: sql`updated_at < ${callsBefore}::timestamptz`,
      },
    ],
    options,
  );
}
