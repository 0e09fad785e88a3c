// The inbox's retention. Never deleted: a post still present whose time is ahead or not set (open
// invitations), an unread message. Deleted after their period: posts EI deleted (the row only served a
// later cancellation text or a late retry) and posts whose time is long past, read or hidden messages,
// care-unit relations no message renewed.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { purgeTables, type PurgeOptions } from '../db/index.js';

export interface InboxRetention {
  postsBefore: Date;
  messagesBefore: Date;
}

export function purgeInbox(
  database: Database,
  rules: InboxRetention,
  options: PurgeOptions,
): Promise<{ booking_post: number; inbox_message: number; care_unit_relation: number }> {
  const posts = rules.postsBefore.toISOString();
  const messages = rules.messagesBefore.toISOString();
  return purgeTables(
    database.orm,
    [
      {
        table: 'booking_post',
        key: { column: 'key_hash', type: 'text' },
        condition: sql`(not present and updated_at < ${posts}::timestamptz) or start_at < ${posts}::timestamptz`,
      },
      {
        table: 'inbox_message',
        key: { column: 'id', type: 'bigint' },
        condition: sql`created_at < ${messages}::timestamptz and (read_at is not null or deleted_at is not null)`,
        stopAt: { column: 'created_at', before: rules.messagesBefore },
      },
      {
        table: 'care_unit_relation',
        key: { column: 'ctid', type: 'tid' },
        condition: sql`last_at < ${messages}::timestamptz`,
      },
    ],
    options,
  );
}
