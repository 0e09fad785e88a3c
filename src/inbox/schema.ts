// Tables of the inbox: what the engine knows of each EI post, held cancellations, the citizens' messages,
// their care-unit relations, and security events.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** The last state of each EI post as the engine saw it: the details survive the producer forgetting them. */
export const bookingPosts = pgTable(
  'booking_post',
  {
    keyHash: text('key_hash').primaryKey(),
    resident: text('resident').notNull(),
    sourceSystem: text('source_system').notNull(),
    logicalAddress: text('logical_address').notNull(),
    bookingId: text('booking_id').notNull(),
    categorization: text('categorization').notNull(),
    /** false once EI deleted the post; the row stays so that a cancellation can say what was cancelled. */
    present: boolean('present').notNull(),
    details: jsonb('details'),
    startAt: timestamp('start_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('booking_post_resident_idx').on(t.resident, t.present)],
);

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
    status: text('status').notNull().default('held'),
    sourceNotificationId: bigint('source_notification_id', { mode: 'number' }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    check('held_cancellation_status_check', sql`${t.status} in ('held', 'merged', 'released', 'dropped')`),
    index('held_cancellation_due_idx').on(t.dueAt).where(sql`${t.status} = 'held'`),
    index('held_cancellation_citizen_idx').on(t.resident, t.sourceSystem).where(sql`${t.status} = 'held'`),
  ],
);

/**
 * The kinds of inbox message: the one list behind the type, both CHECK constraints, the OpenAPI enum, the
 * metrics label and the source-activity counters (in this order everywhere).
 */
export const MESSAGE_KINDS = ['invitation', 'booking_confirmation', 'cancellation', 'rebooking', 'invitation_updated'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
const MESSAGE_KIND_LIST = sql.raw(MESSAGE_KINDS.map((kind) => `'${kind}'`).join(', '));

export const inboxMessages = pgTable(
  'inbox_message',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    resident: text('resident').notNull(),
    kind: text('kind').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    careUnitHsaId: text('care_unit_hsa_id').notNull(),
    careUnitName: text('care_unit_name'),
    booking: jsonb('booking').notNull(),
    keyHash: text('key_hash').notNull(),
    /** What caused the message (e.g. `notification:123`, `held:45`): one message per cause, enforced here. */
    cause: text('cause').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readAt: timestamp('read_at', { withTimezone: true }),
    /** The citizen's delete hides the message from them; the row stays for audit. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    check(
      'inbox_message_kind_check',
      sql`${t.kind} in (${MESSAGE_KIND_LIST})`,
    ),
    uniqueIndex('inbox_message_cause_unique').on(t.cause),
    index('inbox_message_resident_idx').on(t.resident, t.id),
    // The unread count of every inbox page: read from this index alone. Through the one above it visited
    // each of the citizen's messages in the table, one page each once millions of others lie between them.
    index('inbox_message_unread_idx').on(t.resident).where(sql`${t.readAt} is null and ${t.deletedAt} is null`),
  ],
);

export const careUnitRelations = pgTable(
  'care_unit_relation',
  {
    resident: text('resident').notNull(),
    careUnitHsaId: text('care_unit_hsa_id').notNull(),
    careUnitName: text('care_unit_name'),
    firstAt: timestamp('first_at', { withTimezone: true }).notNull().defaultNow(),
    lastAt: timestamp('last_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.resident, t.careUnitHsaId] })],
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
    outcome: text('outcome').notNull(),
    messageKind: text('message_kind'),
    /** The engine's reason, as decide.ts words it (shown in Swedish by trace-words.ts). */
    because: text('because').notNull(),
    /** The cause of the message it made (inbox_message.cause), if any. */
    messageCause: text('message_cause'),
  },
  (t) => [
    check('engine_decision_outcome_check', sql`${t.outcome} in ('message', 'no_message', 'dead')`),
    index('engine_decision_booking_idx').on(t.sourceSystem, t.bookingId, t.id),
    index('engine_decision_post_idx').on(t.keyHash, t.id),
    index('engine_decision_at_idx').on(t.at),
  ],
);

/**
 * Messages of a care unit held by the flood guard: created like any message, but not shown and not
 * notified until an administrator releases them (they move to inbox_message, oldest first, each with its
 * channel request) or drops them (they are deleted; the post state stays in booking_post).
 */
export const heldMessages = pgTable(
  'held_message',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The care unit (EI's logicalAddress) whose hold this message waits for. */
    logicalAddress: text('logical_address').notNull(),
    resident: text('resident').notNull(),
    kind: text('kind').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    careUnitHsaId: text('care_unit_hsa_id').notNull(),
    careUnitName: text('care_unit_name'),
    booking: jsonb('booking').notNull(),
    keyHash: text('key_hash').notNull(),
    cause: text('cause').notNull(),
    heldAt: timestamp('held_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check(
      'held_message_kind_check',
      sql`${t.kind} in (${MESSAGE_KIND_LIST})`,
    ),
    uniqueIndex('held_message_cause_unique').on(t.cause),
    index('held_message_unit_idx').on(t.logicalAddress, t.id),
  ],
);
