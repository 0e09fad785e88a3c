// The queue's retention: processed notifications and old dead letters are deleted; a pending
// notification never is (nothing acknowledged to EI may be lost).
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { inboundNotifications, STATUS } from './schema.js';
import { columnNames, purgeInSlices, type PurgeOptions } from '../db/index.js';

const c = columnNames(inboundNotifications);
const instant = (value: Date) => sql`${value.toISOString()}::timestamptz`;

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
      table: inboundNotifications,
      key: { column: inboundNotifications.id, type: 'bigint' },
      condition: sql`(${c.status} = ${STATUS.done} and ${c.processedAt} < ${instant(rules.doneBefore)})
                  or (${c.status} = ${STATUS.dead} and ${c.availableAt} < ${instant(rules.deadBefore)})`,
      stopAt: { column: inboundNotifications.receivedAt, before: later },
    },
    options,
  );
  return { inbound_notification: deleted };
}
