// Tables of the channels: requests to tell a citizen that a new message is waiting (the message engine
// adds one per new inbox message, in the same transaction as the message), the citizens' channel
// settings, and what the sender did with the requests.
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

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

/** Per citizen and channel: whether to be told, and where. No row: nothing enabled. */
export const citizenChannelSettings = pgTable(
  'citizen_channel_settings',
  {
    resident: text('resident').primaryKey(),
    smsEnabled: boolean('sms_enabled').notNull().default(false),
    /** E.164, e.g. +46701234567. */
    smsPhone: text('sms_phone'),
    emailEnabled: boolean('email_enabled').notNull().default(false),
    emailAddress: text('email_address'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // A channel cannot be on without somewhere to send to; enforced where no code path can bypass it.
    check('citizen_channel_settings_sms_check', sql`not ${t.smsEnabled} or ${t.smsPhone} is not null`),
    check('citizen_channel_settings_email_check', sql`not ${t.emailEnabled} or ${t.emailAddress} is not null`),
  ],
);
