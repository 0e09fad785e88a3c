// Tables of the channels: requests to tell a citizen that a new message is waiting (the message engine
// adds one per new inbox message, in the same transaction as the message), the citizens' channel
// settings, and what the sender did with the requests.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const notificationRequests = pgTable(
  'notification_request',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    resident: text('resident').notNull(),
    messageId: bigint('message_id', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** When the sender took the request into deliveries (or found nothing to send); null: still waiting. */
    plannedAt: timestamp('planned_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('notification_request_message_unique').on(t.messageId),
    index('notification_request_waiting_idx')
      .on(t.resident, t.createdAt)
      .where(sql`${t.plannedAt} is null`),
  ],
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

export const DELIVERY_STATUSES = [
  'pending', // waiting for its time (digest, quiet hours, daily cap, backoff)
  'sending', // claimed by a sender under a lease; the provider may be being called right now
  'queued', // accepted by the provider, not yet sent on
  'sent',
  'delivered',
  'undelivered',
  'failed', // permanent: refused by the provider, or given up after retries
  'cancelled', // the citizen turned the channel off before it was sent
  'in_doubt', // a sender stopped while handing it over: the sender looks it up at the provider or sends it again
  'unknown', // in doubt and could not be settled (the provider's lookup kept failing): never sent again
] as const;
export type DeliveryState = (typeof DELIVERY_STATUSES)[number];

/**
 * How far a delivery has got, the one ranking for words that arrive out of order (Twilio's concurrent
 * status reports, a provider's answer after its lease ran out): a lower rank never overwrites a higher one.
 * Rank 0: nothing heard from the provider.
 */
export const DELIVERY_STATUS_RANK: Readonly<Record<DeliveryState, number>> = {
  pending: 0,
  sending: 0,
  in_doubt: 0,
  unknown: 0,
  queued: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  cancelled: 3,
};

/** Whether a status word `next` moves a delivery on from `current` (never back). Unknown words rank 0. */
export function movesOn(next: string, current: string): boolean {
  const rank = (status: string) => DELIVERY_STATUS_RANK[status as DeliveryState] ?? 0;
  return rank(next) > rank(current);
}

/**
 * A hand-over in hand: the provider's answer to it is taken as the status. The rank-0 statuses of a
 * claimed delivery (not `pending`: put back to be sent again, it waits for its own claim).
 */
export const AWAITING_PROVIDER: readonly DeliveryState[] = DELIVERY_STATUSES.filter(
  (status) => DELIVERY_STATUS_RANK[status] === 0 && status !== 'pending',
);

/** How a delivery in doubt was settled (`doubt_settled_by`), for operators and the resilience figures. */
export const DOUBT_SETTLEMENTS = [
  'found', // the provider has it (Twilio's message list, the outbox file): recorded, not sent again
  'not_found', // the provider does not have it: sent again
  'resent', // the provider cannot be asked (SMTP): sent again with the same Message-ID
  'reported', // a Twilio status report arrived for it first
  'gave_up', // the provider's lookup kept failing: left `unknown`
] as const;
export type DoubtSettlement = (typeof DOUBT_SETTLEMENTS)[number];
/** The channels a citizen may be told through: the type, the CHECK constraint and the OpenAPI enums. */
export const CHANNELS = ['sms', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];
/** One SMS or one e-mail to one citizen, covering one or more inbox messages (the digest). */
export const notificationDeliveries = pgTable(
  'notification_delivery',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    resident: text('resident').notNull(),
    channel: text('channel').notNull().$type<Channel>(),
    status: text('status').notNull().default('pending').$type<DeliveryState>(),
    /** Not sent before this instant (end of the digest window, of the quiet hours, backoff). */
    notBefore: timestamp('not_before', { withTimezone: true }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** Where it was sent (E.164 or e-mail address), set when claimed. */
    recipient: text('recipient'),
    /** The provider's id (Twilio Message SID, SMTP Message-ID). */
    providerId: text('provider_id'),
    /** The provider's own last status word (e.g. Twilio's `accepted`), for operators. */
    providerStatus: text('provider_status'),
    /** A code, never personal data: `twilio_21211`, `http_503`, `smtp_550`, `network`, `gave_up`... */
    lastError: text('last_error'),
    /** When the attempt in hand began (the claim): a lookup of a delivery in doubt searches from here. */
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    /** Set once the delivery was in doubt: how that was settled (DOUBT_SETTLEMENTS). */
    doubtSettledBy: text('doubt_settled_by').$type<DoubtSettlement>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check(
      'notification_delivery_channel_check',
      sql`${t.channel} in (${sql.raw(CHANNELS.map((channel) => `'${channel}'`).join(', '))})`,
    ),
    check(
      'notification_delivery_status_check',
      sql.raw(`status in (${DELIVERY_STATUSES.map((s) => `'${s}'`).join(', ')})`),
    ),
    // At most one waiting delivery per citizen and channel: later messages join it (one SMS, not several).
    uniqueIndex('notification_delivery_waiting_unique')
      .on(t.resident, t.channel)
      .where(sql`${t.status} = 'pending'`),
    index('notification_delivery_due_idx')
      .on(t.notBefore)
      .where(sql`${t.status} = 'pending'`),
    index('notification_delivery_lease_idx')
      .on(t.leaseUntil)
      .where(sql`${t.status} = 'sending'`),
    index('notification_delivery_in_doubt_idx')
      .on(t.notBefore)
      .where(sql`${t.status} = 'in_doubt'`),
    uniqueIndex('notification_delivery_provider_unique').on(t.channel, t.providerId),
    index('notification_delivery_citizen_sent_idx').on(t.resident, t.channel, t.sentAt),
  ],
);

/** Which inbox messages a delivery tells of. One message, one channel, one delivery: never twice. */
export const notificationDeliveryMessages = pgTable(
  'notification_delivery_message',
  {
    messageId: bigint('message_id', { mode: 'number' }).notNull(),
    channel: text('channel').notNull().$type<Channel>(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => notificationDeliveries.id),
  },
  (t) => [
    primaryKey({ columns: [t.messageId, t.channel] }),
    index('notification_delivery_message_delivery_idx').on(t.deliveryId),
  ],
);
