// The queue of accepted notifications: the work list of the database mode, and the ledger of what is done in both
// modes.
import { sql, type SQL } from 'drizzle-orm';
// Another component's schema.ts, not its index.ts: schema files are loaded by drizzle-kit and src/db on
// their own, and an index would load the whole component (scripts/check-boundaries.mjs allows this).
import { DELIVERY_MODES } from '../activation-registry/schema.js';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

/**
 * The states of a queued notification: waiting (or being processed under a lease), processed, given up
 * (a dead letter, until an operator retries it). The one list: the type, the CHECK constraint, the SQL
 * below and the OpenAPI enum come from it.
 */
export const NOTIFICATION_STATUSES = ['pending', 'done', 'dead'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * Each status as an SQL literal, for the queue's statements. A literal, not a bind parameter: the partial
 * indexes on pending and dead rows are used only when the query names the same literal.
 */
export const STATUS = Object.fromEntries(NOTIFICATION_STATUSES.map((status) => [status, sql.raw(`'${status}'`)])) as {
  readonly [S in NotificationStatus]: SQL;
};

export const inboundNotifications = pgTable(
  'inbound_notification',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // The call that brought it. No foreign key: both rows are written by the one intake statement, and
    // checking the key row by row was a quarter of that statement's time for a 1000-transaction call.
    callId: bigint('call_id', { mode: 'number' }).notNull(),
    position: integer('position').notNull(),
    keyHash: text('key_hash').notNull(),
    resident: text('resident').notNull(),
    sourceSystem: text('source_system').notNull(),
    deleteFlag: boolean('delete_flag').notNull(),
    /** The source system's mode when EI delivered it (DELIVERY_MODES); null only on rows from before it was kept. */
    deliveredMode: text('delivered_mode'),
    engagement: jsonb('engagement').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    status: text('status').notNull().default(NOTIFICATION_STATUSES[0]),
    attempts: integer('attempts').notNull().default(0),
    availableAt: timestamp('available_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    /** A worker's claim; once it lapses (the worker died) another worker may take the item. */
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [
    check(
      'inbound_notification_status_check',
      sql`${t.status} in (${sql.raw(NOTIFICATION_STATUSES.map((status) => `'${status}'`).join(', '))})`,
    ),
    check(
      'inbound_notification_delivered_mode_check',
      sql`${t.deliveredMode} in (${sql.raw(DELIVERY_MODES.map((mode) => `'${mode}'`).join(', '))})`,
    ),
    index('inbound_notification_pending_idx')
      .on(t.id)
      .where(sql`${t.status} = ${STATUS.pending}`),
    // A citizen's pending items at a source system: a new post waits for the citizen's earlier deletes there
    // (the claim; the delete flag is a filter, a citizen has few pending rows), a held cancellation looks for
    // the citizen's new post there (release-held.ts), and the demo counts a citizen's pending rows. One index
    // for all three: each index is a write per accepted transaction at the intake (it replaced one on
    // (resident, id) and one on (resident, source_system, id) of pending deletes).
    index('inbound_notification_pending_citizen_idx')
      .on(t.resident, t.sourceSystem, t.id)
      .where(sql`${t.status} = ${STATUS.pending}`),
    // One post's notifications are processed in order (the claim looks up a post's earlier items).
    index('inbound_notification_pending_post_idx')
      .on(t.keyHash, t.id)
      .where(sql`${t.status} = ${STATUS.pending}`),
    // Dead letters are few among millions of done rows: /admin lists them without scanning the table.
    index('inbound_notification_dead_idx')
      .on(t.sourceSystem, t.id)
      .where(sql`${t.status} = ${STATUS.dead}`),
  ],
);

/**
 * The processes that hold leases (workers, senders), each with its last heartbeat. A process whose
 * heartbeat is older than WORKER_DEAD_AFTER_SECONDS is dead: a live one releases its claims at once,
 * instead of letting them wait out the whole lease (src/queue/liveness.ts).
 */
export const leaseHolders = pgTable(
  'lease_holder',
  {
    /** The process's worker id; its leases are owned by this id or `<id>/<suffix>`. */
    processId: text('process_id').primaryKey(),
    roles: text('roles').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    /** The database's clock, written and compared by the database: no skew between hosts. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('lease_holder_heartbeat_idx').on(t.heartbeatAt)],
);
