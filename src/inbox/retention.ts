// The inbox's retention. Never deleted: a post still present whose time is ahead or not set (open
// invitations), a held cancellation still waiting for its window, an unread message. Deleted after
// their period: posts EI deleted (the row only served a later cancellation text or a late retry) and
// posts whose time is long past, settled held cancellations, read or hidden messages, care-unit
// relations no message renewed, security events.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { purgeInSlices, type PurgeOptions } from '../db/purge.js';

export interface InboxRetention {
  postsBefore: Date;
  messagesBefore: Date;
  securityEventsBefore: Date;
  /** The engine's decision records (the trace): kept as long as the notifications they are about. */
  decisionsBefore?: Date;
}

export async function purgeInbox(
  database: Database,
  rules: InboxRetention,
  options: PurgeOptions,
): Promise<{ held_cancellation: number; booking_post: number; inbox_message: number; care_unit_relation: number; security_event: number; engine_decision: number }> {
  const posts = rules.postsBefore.toISOString();
  const messages = rules.messagesBefore.toISOString();
  const held = await purgeInSlices(
    database.orm,
    {
      table: 'held_cancellation',
      key: { column: 'id', type: 'bigint' },
      condition: sql`status <> 'held' and resolved_at < ${posts}::timestamptz`,
      stopAt: { column: 'deleted_at', before: rules.postsBefore },
    },
    options,
  );
  const bookingPosts = await purgeInSlices(
    database.orm,
    {
      table: 'booking_post',
      key: { column: 'key_hash', type: 'text' },
      condition: sql`(not present and updated_at < ${posts}::timestamptz) or start_at < ${posts}::timestamptz`,
    },
    options,
  );
  const inboxMessages = await purgeInSlices(
    database.orm,
    {
      table: 'inbox_message',
      key: { column: 'id', type: 'bigint' },
      condition: sql`created_at < ${messages}::timestamptz and (read_at is not null or deleted_at is not null)`,
      stopAt: { column: 'created_at', before: rules.messagesBefore },
    },
    options,
  );
  const relations = await purgeInSlices(
    database.orm,
    {
      table: 'care_unit_relation',
      key: { column: 'ctid', type: 'tid' },
      condition: sql`last_at < ${messages}::timestamptz`,
    },
    options,
  );
  const securityEvents = await purgeInSlices(
    database.orm,
    {
      table: 'security_event',
      key: { column: 'id', type: 'bigint' },
      condition: sql`at < ${rules.securityEventsBefore.toISOString()}::timestamptz`,
      stopAt: { column: 'at', before: rules.securityEventsBefore },
    },
    options,
  );
  const decisionsBefore = rules.decisionsBefore ?? rules.postsBefore;
  const decisions = await purgeInSlices(
    database.orm,
    {
      table: 'engine_decision',
      key: { column: 'id', type: 'bigint' },
      condition: sql`at < ${decisionsBefore.toISOString()}::timestamptz`,
      stopAt: { column: 'at', before: decisionsBefore },
    },
    options,
  );
  return {
    held_cancellation: held,
    booking_post: bookingPosts,
    inbox_message: inboxMessages,
    care_unit_relation: relations,
    security_event: securityEvents,
    engine_decision: decisions,
  };
}
