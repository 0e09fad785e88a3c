// Tables of the channels: requests to tell a citizen that a new message is waiting. The message engine
// adds one per new inbox message, in the same transaction as the message.
import { bigint, bigserial, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const notificationRequests = pgTable(
  'notification_request',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    resident: text('resident').notNull(),
    messageId: bigint('message_id', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('notification_request_message_unique').on(t.messageId)],
);
