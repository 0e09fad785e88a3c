// The queue's producer side: accepted transactions become `pending` rows of inbound_notification. The
// ingest's intake statement queues them as one part of its single statement (call, redelivery check
// and queue rows commit together in one round trip), so the queue gives that part, not a call of its own.
import { sql, type SQL } from 'drizzle-orm';

/** The columns `rows` must select, in this order. */
export const ENQUEUE_COLUMNS = [
  'call_id',
  'position',
  'key_hash',
  'resident',
  'source_system',
  'delete_flag',
  'delivered_mode',
  'engagement',
] as const;

/**
 * The statement part that queues the notifications `rows` selects (ENQUEUE_COLUMNS, in applying order);
 * it returns each queued row's `id` and `resident`. For a data-modifying CTE of the intake statement.
 */
export function enqueueNotifications(rows: SQL): SQL {
  return sql`insert into inbound_notification (${sql.raw(ENQUEUE_COLUMNS.join(', '))})
      ${rows}
      returning id, resident`;
}
