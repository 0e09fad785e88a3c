// The inbox's retention. Never deleted: a post still present whose time is ahead or not set (open
// invitations), an unread message. Deleted after their period: posts EI deleted (the row only served a
// later cancellation text or a late retry) and posts whose time is long past, read or hidden messages,
// care-unit relations no message renewed.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { columnNames, purgeInSlices, type PurgeOptions } from '../db/index.js';
import { bookingPosts, careUnitRelations, inboxMessages } from './schema.js';

const p = columnNames(bookingPosts);
const m = columnNames(inboxMessages);
const cr = columnNames(careUnitRelations);

export interface InboxRetention {
  postsBefore: Date;
  messagesBefore: Date;
}

export async function purgeInbox(
  database: Database,
  rules: InboxRetention,
  options: PurgeOptions,
): Promise<{ booking_post: number; inbox_message: number; care_unit_relation: number }> {
  const posts = rules.postsBefore.toISOString();
  const messages = rules.messagesBefore.toISOString();
  const postsDeleted = await purgeInSlices(
    database.orm,
    {
      table: bookingPosts,
      key: { column: bookingPosts.keyHash, type: 'text' },
      condition: sql`(not ${p.present} and ${p.updatedAt} < ${posts}::timestamptz)
                     or ${p.startAt} < ${posts}::timestamptz`,
    },
    options,
  );
  const messagesDeleted = await purgeInSlices(
    database.orm,
    {
      table: inboxMessages,
      key: { column: inboxMessages.id, type: 'bigint' },
      condition: sql`${m.createdAt} < ${messages}::timestamptz
                     and (${m.readAt} is not null or ${m.deletedAt} is not null)`,
      stopAt: { column: inboxMessages.createdAt, before: rules.messagesBefore },
    },
    options,
  );
  const relations = await purgeInSlices(
    database.orm,
    {
      table: careUnitRelations,
      key: { column: 'ctid', type: 'tid' },
      condition: sql`${cr.lastAt} < ${messages}::timestamptz`,
    },
    options,
  );
  return {
    booking_post: postsDeleted,
    inbox_message: messagesDeleted,
    care_unit_relation: relations,
  };
}
