// The citizen's side of the inbox: their messages, their upcoming bookings and their care units. Every
// query takes the resident and filters on it in SQL, so another citizen's message id simply finds nothing.
// Pages of messages are walked with an opaque cursor that is bound to the citizen by an HMAC: a cursor
// handed to one citizen is refused for any other.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { and, count, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import { decodeCount, decodeDate, decodeId, decodeJson, type Database } from '../db/index.js';
import { upcomingBookings, type UpcomingBooking } from './bookings.js';
import type { BookingFacts } from './booking-facts.js';
import type { BookingSnapshot, MessageKind } from '../message-engine/index.js';
import { bookingPosts, careUnitRelations, inboxMessages } from './schema.js';

export interface MessageBooking extends BookingFacts {
  bookingId: string | null;
  categorization: string | null;
  start: string | null;
  end: string | null;
  /** Only on a rebooking: the time before. */
  previousStart?: string | null;
  previousEnd?: string | null;
}

export interface InboxMessage {
  id: number;
  kind: MessageKind;
  subject: string;
  body: string;
  createdAt: string;
  readAt: string | null;
  careUnit: { hsaId: string; name: string | null };
  booking: MessageBooking;
}

export interface MessagePage {
  items: InboxMessage[];
  /** Give it back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
  unreadCount: number;
}

export interface CareUnit {
  hsaId: string;
  name: string | null;
  firstAt: string;
  lastAt: string;
}

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface InboxStore {
  /** Newest first; `cursor` from a previous page of the same citizen. Throws InvalidCursorError. */
  listMessages(resident: string, options?: { limit?: number; cursor?: string }): Promise<MessagePage>;
  unreadCount(resident: string): Promise<number>;
  /** The citizen's message, or undefined (also when it is someone else's or deleted). */
  findMessage(resident: string, id: number): Promise<InboxMessage | undefined>;
  /** Marks it read (the first reading time stays); undefined when the citizen has no such message. */
  markRead(resident: string, id: number): Promise<InboxMessage | undefined>;
  /** Marks it unread again (the citizen's choice); false when the citizen has no such message. */
  markUnread(resident: string, id: number): Promise<boolean>;
  /** Hides it from the citizen; the row stays for audit. false when the citizen has no such message. */
  hideMessage(resident: string, id: number): Promise<boolean>;
  upcomingBookings(resident: string, now?: Date): Promise<UpcomingBooking[]>;
  careUnits(resident: string): Promise<CareUnit[]>;
}

type MessageRow = typeof inboxMessages.$inferSelect;

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

// Only the fields the API describes go out, whatever else the jsonb may hold one day.
function bookingOf(stored: unknown): MessageBooking {
  const raw = (decodeJson<unknown>(stored) ?? {}) as Record<string, unknown>;
  const booking: MessageBooking = {
    bookingId: text(raw.bookingId),
    categorization: text(raw.categorization),
    start: text(raw.start),
    end: text(raw.end),
    purpose: text(raw.purpose),
    reason: text(raw.reason),
    careTypeName: text(raw.careTypeName),
    timeTypeName: text(raw.timeTypeName),
    performerName: text(raw.performerName),
    resourceName: text(raw.resourceName),
    cancelAllowed: raw.cancelAllowed === true,
    rebookAllowed: raw.rebookAllowed === true,
    messageAllowed: raw.messageAllowed === true,
  };
  if ('previousStart' in raw || 'previousEnd' in raw) {
    booking.previousStart = text(raw.previousStart);
    booking.previousEnd = text(raw.previousEnd);
  }
  return booking;
}

function messageOf(row: MessageRow): InboxMessage {
  return {
    id: decodeId(row.id),
    kind: row.kind as MessageKind,
    subject: row.subject,
    body: row.body,
    createdAt: decodeDate(row.createdAt).toISOString(),
    readAt: row.readAt ? decodeDate(row.readAt).toISOString() : null,
    careUnit: { hsaId: row.careUnitHsaId, name: row.careUnitName },
    booking: bookingOf(row.booking),
  };
}

function iso(value: Date | string): string {
  return decodeDate(value).toISOString();
}

/**
 * `cursorSecret`: keys the cursors' HMAC (e.g. the session secret); cursors made with another secret are
 * refused, so a restart with a new secret only costs a citizen their place in the list.
 */
export function createInboxStore(database: Pick<Database, 'orm'>, cursorSecret: string): InboxStore {
  const { orm } = database;
  const cursorKey = Buffer.from(hkdfSync('sha256', cursorSecret, 'ei-inbox', 'inbox message cursor', 32));

  function mac(resident: string, payload: string): string {
    return createHmac('sha256', cursorKey).update(`${resident}\n${payload}`).digest('base64url').slice(0, 22);
  }

  function makeCursor(resident: string, beforeId: number): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, before: beforeId })).toString('base64url');
    return `${payload}.${mac(resident, payload)}`;
  }

  function readCursor(resident: string, cursor: string): number {
    const [payload, given, extra] = cursor.split('.');
    if (!payload || !given || extra !== undefined || cursor.length > 200)
      throw new InvalidCursorError('malformed cursor');
    const expected = Buffer.from(mac(resident, payload));
    const actual = Buffer.from(given);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new InvalidCursorError('cursor not issued to this citizen');
    }
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { v?: unknown; before?: unknown };
    if (
      parsed.v !== 1 ||
      typeof parsed.before !== 'number' ||
      !Number.isSafeInteger(parsed.before) ||
      parsed.before < 1
    ) {
      throw new InvalidCursorError('malformed cursor');
    }
    return parsed.before;
  }

  const visible = (resident: string) => and(eq(inboxMessages.resident, resident), isNull(inboxMessages.deletedAt));

  async function unreadCount(resident: string): Promise<number> {
    const [row] = await orm
      .select({ n: count() })
      .from(inboxMessages)
      .where(and(visible(resident), isNull(inboxMessages.readAt)));
    return decodeCount(row?.n);
  }

  async function findMessage(resident: string, id: number): Promise<InboxMessage | undefined> {
    const [row] = await orm
      .select()
      .from(inboxMessages)
      .where(and(eq(inboxMessages.id, id), visible(resident)));
    return row ? messageOf(row) : undefined;
  }

  return {
    unreadCount,
    findMessage,

    async listMessages(resident, options = {}) {
      const limit = Math.min(Math.max(options.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
      const before = options.cursor === undefined ? undefined : readCursor(resident, options.cursor);
      // Newest first by id (ids grow with time); one row more than asked tells whether there is a next page.
      const found = await orm
        .select()
        .from(inboxMessages)
        .where(before === undefined ? visible(resident) : and(visible(resident), lt(inboxMessages.id, before)))
        .orderBy(desc(inboxMessages.id))
        .limit(limit + 1);
      const items = found.slice(0, limit).map(messageOf);
      const nextCursor = found.length > limit ? makeCursor(resident, items[items.length - 1]!.id) : null;
      return { items, nextCursor, unreadCount: await unreadCount(resident) };
    },

    async markRead(resident, id) {
      const [row] = await orm
        .update(inboxMessages)
        .set({ readAt: sql`coalesce(${inboxMessages.readAt}, now())` })
        .where(and(eq(inboxMessages.id, id), visible(resident)))
        .returning();
      return row ? messageOf(row) : undefined;
    },

    async markUnread(resident, id) {
      const changed = await orm
        .update(inboxMessages)
        .set({ readAt: null })
        .where(and(eq(inboxMessages.id, id), visible(resident)))
        .returning({ id: inboxMessages.id });
      return changed.length === 1;
    },

    async hideMessage(resident, id) {
      const hidden = await orm
        .update(inboxMessages)
        .set({ deletedAt: sql`now()` })
        .where(and(eq(inboxMessages.id, id), visible(resident)))
        .returning({ id: inboxMessages.id });
      return hidden.length === 1;
    },

    async upcomingBookings(resident, now = new Date()) {
      const posts = await orm
        .select({
          bookingId: bookingPosts.bookingId,
          categorization: bookingPosts.categorization,
          details: bookingPosts.details,
        })
        .from(bookingPosts)
        .where(and(eq(bookingPosts.resident, resident), eq(bookingPosts.present, true)));
      return upcomingBookings(
        posts.map((post) => ({
          ...post,
          details: decodeJson(post.details as BookingSnapshot | string | null),
        })),
        now,
      );
    },

    async careUnits(resident) {
      const found = await orm
        .select()
        .from(careUnitRelations)
        .where(eq(careUnitRelations.resident, resident))
        .orderBy(desc(careUnitRelations.lastAt), careUnitRelations.careUnitHsaId);
      return found.map((row) => ({
        hsaId: row.careUnitHsaId,
        name: row.careUnitName,
        firstAt: iso(row.firstAt),
        lastAt: iso(row.lastAt),
      }));
    },
  };
}
