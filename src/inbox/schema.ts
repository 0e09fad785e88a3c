// Tables of the inbox: what is known of each EI post, the citizens' messages (and those the flood guard
// holds), and their care-unit relations. Written only through the inbox's interface (index.ts).
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

/** The columns a message has, shown (inbox_message) or held (held_message): fresh builders for each table. */
const messageColumns = () => ({
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
});

/**
 * The kinds of inbox message: the one list behind the type, both CHECK constraints, the OpenAPI enum, the
 * metrics label and the source-activity counters (in this order everywhere).
 */
export const MESSAGE_KINDS = [
  'invitation',
  'booking_confirmation',
  'cancellation',
  'rebooking',
  'invitation_updated',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
const MESSAGE_KIND_LIST = sql.raw(MESSAGE_KINDS.map((kind) => `'${kind}'`).join(', '));

export const inboxMessages = pgTable(
  'inbox_message',
  {
    ...messageColumns(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readAt: timestamp('read_at', { withTimezone: true }),
    /** The citizen's delete hides the message from them; the row stays for audit. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    check('inbox_message_kind_check', sql`${t.kind} in (${MESSAGE_KIND_LIST})`),
    uniqueIndex('inbox_message_cause_unique').on(t.cause),
    index('inbox_message_resident_idx').on(t.resident, t.id),
    // The unread count of every inbox page: read from this index alone. Through the one above it visited
    // each of the citizen's messages in the table, one page each once millions of others lie between them.
    index('inbox_message_unread_idx')
      .on(t.resident)
      .where(sql`${t.readAt} is null and ${t.deletedAt} is null`),
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

/**
 * Messages of a care unit held by the flood guard: created like any message, but not shown and not
 * notified until an administrator releases them (they move to inbox_message, oldest first, each with its
 * channel request) or drops them (they are deleted; the post state stays in booking_post).
 */
export const heldMessages = pgTable(
  'held_message',
  {
    ...messageColumns(),
    /** The care unit (EI's logicalAddress) whose hold this message waits for. */
    logicalAddress: text('logical_address').notNull(),
    heldAt: timestamp('held_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('held_message_kind_check', sql`${t.kind} in (${MESSAGE_KIND_LIST})`),
    uniqueIndex('held_message_cause_unique').on(t.cause),
    index('held_message_unit_idx').on(t.logicalAddress, t.id),
  ],
);
