// The queue's retention: processed notifications and old dead letters are deleted; a pending
// notification never is (nothing acknowledged to EI may be lost).
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { STATUS } from './schema.js';
import { purgeInSlices, type PurgeOptions } from '../db/index.js';

export interface QueueRetention {
  /** Done notifications processed before this instant go. */
  doneBefore: Date;
  /** Dead letters whose last try was before this instant go (operators had that long to retry them). */
  deadBefore: Date;
}

export async function purgeQueue(
  database: Database,
  rules: QueueRetention,
  options: PurgeOptions,
): Promise<{ inbound_notification: number }> {
  const later = rules.doneBefore > rules.deadBefore ? rules.doneBefore : rules.deadBefore;
  const deleted = await purgeInSlices(
    database.orm,
    {
      table: 'inbound_notification',
      key: { column: 'id', type: 'bigint' },
      condition: sql`(status = ${STATUS.done} and processed_at < ${rules.doneBefore.toISOString()}::timestamptz)
                  or (status = ${STATUS.dead} and available_at < ${rules.deadBefore.toISOString()}::timestamptz)`,
      stopAt: { column: 'received_at', before: later },
    },
    options,
  );
  return { inbound_notification: deleted };
}
