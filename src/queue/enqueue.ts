// The queue's producer side: accepted transactions become `pending` rows of inbound_notification. The
// ingest's intake statement queues them as one part of its single statement (call, redelivery check
// and queue rows commit together in one round trip), so the queue gives that part, not a call of its own.
import { sql, type SQL } from 'drizzle-orm';
import { columnNames } from '../db/index.js';
import { inboundNotifications } from './schema.js';

// Raw statements name the table's columns through its schema (a renamed column no longer compiles).
const c = columnNames(inboundNotifications);

/** The columns `rows` must select, in this order (the schema's names of inbound_notification's columns). */
export const ENQUEUE_COLUMNS = [
  'callId',
  'position',
  'keyHash',
  'resident',
  'sourceSystem',
  'deleteFlag',
  'deliveredMode',
  'engagement',
] as const satisfies readonly (keyof typeof c)[];

/**
 * The statement part that queues the notifications `rows` selects (ENQUEUE_COLUMNS, in applying order);
 * it returns each queued row's `id` and `resident`. For a data-modifying CTE of the intake statement.
 */
export function enqueueNotifications(rows: SQL): SQL {
  const columns = sql.join(
    ENQUEUE_COLUMNS.map((column) => c[column]),
    sql`, `,
  );
  return sql`insert into ${inboundNotifications} (${columns})
      ${rows}
      returning ${c.id}, ${c.resident}`;
}
