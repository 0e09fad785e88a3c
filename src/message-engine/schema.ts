// Tables of the message engine: deletes held for the rebooking window, the trace of its decisions, and
// security events (a subject of care that differs from the resident). Written only by the engine.
import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** What came of a held delete: still held, merged into a rebooking, released as a cancellation, or dropped. */
export const HELD_STATUSES = ['held', 'merged', 'released', 'dropped'] as const;
export type HeldStatus = (typeof HELD_STATUSES)[number];
/** What came of a decision: a message, no message, or given up on (a dead letter). */
export const DECISION_OUTCOMES = ['message', 'no_message', 'dead'] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];
/** `'a', 'b'` for a CHECK constraint's `in (...)`, from a constant list. */
const listed = (values: readonly string[]) => sql.raw(values.map((value) => `'${value}'`).join(', '));

/** A delete held back for the rebooking window: merged into a rebooking, or released as a cancellation. */
export const heldCancellations = pgTable(
  'held_cancellation',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    resident: text('resident').notNull(),
    sourceSystem: text('source_system').notNull(),
    keyHash: text('key_hash').notNull(),
    logicalAddress: text('logical_address').notNull(),
    categorization: text('categorization').notNull(),
    details: jsonb('details'),
    /** When EI delivered the delete; the window runs from here. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }).notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    status: text('status').notNull().default(HELD_STATUSES[0]).$type<HeldStatus>(),
    sourceNotificationId: bigint('source_notification_id', { mode: 'number' }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    check('held_cancellation_status_check', sql`${t.status} in (${listed(HELD_STATUSES)})`),
    index('held_cancellation_due_idx')
      .on(t.dueAt)
      .where(sql`${t.status} = 'held'`),
    index('held_cancellation_citizen_idx')
      .on(t.resident, t.sourceSystem)
      .where(sql`${t.status} = 'held'`),
  ],
);

export const securityEvents = pgTable('security_event', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  kind: text('kind').notNull(),
  logicalAddress: text('logical_address').notNull(),
  bookingId: text('booking_id').notNull(),
  sourceNotificationId: bigint('source_notification_id', { mode: 'number' }),
  detail: text('detail').notNull(),
});

/**
 * Each decision of the engine, for the administrators' trace: which notification (or held delete), what came
 * of it (a message of a kind, no message, or given up) and why. No personal data: the post is named by its
 * key hash, source system, care unit and booking id. Kept as long as the notifications themselves.
 */
export const engineDecisions = pgTable(
  'engine_decision',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    notificationId: bigint('notification_id', { mode: 'number' }),
    heldId: bigint('held_id', { mode: 'number' }),
    keyHash: text('key_hash').notNull(),
    sourceSystem: text('source_system').notNull(),
    logicalAddress: text('logical_address').notNull(),
    bookingId: text('booking_id').notNull(),
    outcome: text('outcome').notNull().$type<DecisionOutcome>(),
    messageKind: text('message_kind'),
    /** The engine's reason, as decide.ts words it (shown in Swedish by trace-words.ts). */
    because: text('because').notNull(),
    /** The cause of the message it made (inbox_message.cause), if any. */
    messageCause: text('message_cause'),
  },
  (t) => [
    check('engine_decision_outcome_check', sql`${t.outcome} in (${listed(DECISION_OUTCOMES)})`),
    // The trace reads a booking's decisions. No index on the post's key hash: nothing reads by it, and at
    // national volumes each random key cost the engine a page write per decision (migration 0013).
    index('engine_decision_booking_idx').on(t.sourceSystem, t.bookingId, t.id),
    index('engine_decision_at_idx').on(t.at),
  ],
);
