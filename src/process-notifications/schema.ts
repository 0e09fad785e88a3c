// Tables of the ingest: one row per ProcessNotification call, rejected transactions for operators,
// and the last transaction sequence seen per EI post (to recognise redeliveries).
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const notificationCalls = pgTable('notification_call', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  correlationId: text('correlation_id'),
  transactions: integer('transactions').notNull(),
  accepted: integer('accepted').notNull(),
  duplicates: integer('duplicates').notNull().default(0),
  ignored: integer('ignored').notNull(),
  rejected: integer('rejected').notNull(),
});

export const rejectedTransactions = pgTable(
  'rejected_transaction',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    callId: bigint('call_id', { mode: 'number' })
      .notNull()
      .references(() => notificationCalls.id),
    // 1-based position of the transaction in the call, as named in the answer's comment.
    position: integer('position').notNull(),
    code: text('code').notNull(),
    reason: text('reason').notNull(),
    fields: jsonb('fields').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('rejected_transaction_call_idx').on(t.callId)],
);

// The EI key of a post, hashed, with a fingerprint of the transaction sequence last accepted for it and
// the sequences received within the redelivery window ([{ h: fingerprint, t: epoch seconds first received }]).
// A call whose sequence for a post is one of those changes nothing (EI's redelivery, or a retried older
// call); after the window the same sequence is processed again (it may stand for an in-place change).
export const ingestPosts = pgTable('ingest_post', {
  keyHash: text('key_hash').primaryKey(),
  sequenceHash: text('sequence_hash').notNull(),
  recent: jsonb('recent')
    .notNull()
    .default(sql`'[]'::jsonb`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
