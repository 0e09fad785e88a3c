// Tables of the pages' sign-in: one row per signed-in session, so that signing out (or staying away)
// ends it on the server and an old cookie opens nothing.
import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const SESSION_KINDS = ['citizen', 'admin'] as const;
export const SESSION_END_REASONS = ['sign-out', 'idle', 'expired'] as const;

export const webSessions = pgTable(
  'web_session',
  {
    /** SHA-256 of the session id in the cookie: the table alone opens no session. */
    idHash: text('id_hash').primaryKey(),
    kind: text('kind', { enum: SESSION_KINDS }).notNull(),
    /** The citizen's personal identity number or the administrator's name. Never logged. */
    subject: text('subject').notNull(),
    /** An administrator with the support role as well (may trace by personal identity number). */
    support: boolean('support').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    endReason: text('end_reason', { enum: SESSION_END_REASONS }),
  },
  (t) => [
    check(
      'web_session_kind_check',
      sql`${t.kind} in (${sql.raw(SESSION_KINDS.map((kind) => `'${kind}'`).join(', '))})`,
    ),
    check('web_session_end_check', sql`(${t.endedAt} is null) = (${t.endReason} is null)`),
    index('web_session_last_seen_idx').on(t.lastSeenAt),
  ],
);
