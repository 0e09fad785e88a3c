// Tables of the source-activity counters: per environment, source system and hour, what was received,
// ignored and made of it; and which unregistered systems sent booking notifications, for which care units.
// Small by design: /admin reads these, never the big notification tables.
import { environmentCheck } from '../activation-registry/schema.js';
import { bigint, check, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** One row per environment, source system and hour; each counter a column (ACTIVITY_COUNTERS). */
export const sourceActivityHourly = pgTable(
  'source_activity_hourly',
  {
    environment: text('environment').notNull(),
    sourceSystem: text('source_system').notNull(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    received: bigint('received', { mode: 'number' }).notNull().default(0),
    ignored: bigint('ignored', { mode: 'number' }).notNull().default(0),
    invitation: bigint('invitation', { mode: 'number' }).notNull().default(0),
    bookingConfirmation: bigint('booking_confirmation', { mode: 'number' }).notNull().default(0),
    cancellation: bigint('cancellation', { mode: 'number' }).notNull().default(0),
    rebooking: bigint('rebooking', { mode: 'number' }).notNull().default(0),
    invitationUpdated: bigint('invitation_updated', { mode: 'number' }).notNull().default(0),
    noMessage: bigint('no_message', { mode: 'number' }).notNull().default(0),
    producerFailures: bigint('producer_failures', { mode: 'number' }).notNull().default(0),
    deadLetters: bigint('dead_letters', { mode: 'number' }).notNull().default(0),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.environment, t.sourceSystem, t.hour] }),
    check('source_activity_hourly_environment_check', environmentCheck(t.environment)),
  ],
);

/** A care unit an unregistered source system sent booking notifications for (per environment). */
export const unregisteredSightings = pgTable(
  'unregistered_sighting',
  {
    environment: text('environment').notNull(),
    sourceSystem: text('source_system').notNull(),
    logicalAddress: text('logical_address').notNull(),
    notifications: bigint('notifications', { mode: 'number' }).notNull().default(0),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.environment, t.sourceSystem, t.logicalAddress] }),
    check('unregistered_sighting_environment_check', environmentCheck(t.environment)),
  ],
);
