// The administrators' trace of one booking: every notification received for it, the engine's decision and
// why (in Swedish), the message made, and each SMS/e-mail delivery with its status. Looked up by source
// system + booking id, or (support role only, audited by the caller) by the citizen's personal identity
// number. Read only; no personal data in what it returns (no identity numbers, phone numbers, addresses
// or message text). Every look-up goes through an index: decisions by (source system, booking id).
import { and, asc, eq, sql } from 'drizzle-orm';
import { decodeDate, decodeId, rows, type Database } from '../db/index.js';
import { maskPersonalData } from '../logging.js';
import { notificationsOfBooking } from '../queue/index.js';
import { engineDecisions } from './schema.js';
import { becauseInSwedish } from './trace-words.js';

/** What became of the SMS/e-mail notice of a message (TraceMessage.notice). */
export const MESSAGE_NOTICES = ['waiting', 'planned', 'none', 'held'] as const;
export type MessageNotice = (typeof MESSAGE_NOTICES)[number];
/** A trace event: a notification from EI, or the end of a held delete's rebooking window. */
export const TRACE_EVENT_TYPES = ['notification', 'window_ended'] as const;
export type TraceEventType = (typeof TRACE_EVENT_TYPES)[number];

export interface TraceDelivery {
  channel: string;
  status: string;
  providerStatus: string | null;
  attempts: number;
  createdAt: string;
  sentAt: string | null;
}

export interface TraceMessage {
  id: number;
  kind: string;
  subject: string;
  createdAt: string;
  readAt: string | null;
  /**
   * Waiting for the sender to plan SMS/e-mail, planned, nothing to send (no channel chosen), or held by the
   * flood guard (not shown to the citizen until an administrator releases it).
   */
  notice: MessageNotice;
  deliveries: TraceDelivery[];
}

export interface TraceDecision {
  at: string;
  outcome: string;
  messageKind: string | null;
  because: string;
  becauseSv: string;
  message: TraceMessage | null;
}

export interface TraceEvent {
  /** A notification from EI, or the end of a held delete's rebooking window. */
  type: TraceEventType;
  notificationId: number | null;
  heldId: number | null;
  receivedAt: string | null;
  deleteFlag: boolean | null;
  categorization: string | null;
  logicalAddress: string;
  /** The queue's state: pending (not yet decided or waiting for its producer), done, dead. */
  status: string | null;
  attempts: number | null;
  lastError: string | null;
  deliveredMode: string | null;
  decision: TraceDecision | null;
}

export interface BookingTrace {
  sourceSystem: string;
  bookingId: string;
  events: TraceEvent[];
}

export const MAX_TRACE_EVENTS = 200;
const MAX_BOOKINGS_PER_PERSON = 50;

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);
/** A nullable timestamptz of another component's table, as read raw (a Date or its text). */
const dateOrNull = (value: Date | string | null): Date | null => (value === null ? null : decodeDate(value));

type DecisionRow = Pick<
  typeof engineDecisions.$inferSelect,
  'id' | 'at' | 'notificationId' | 'heldId' | 'logicalAddress' | 'outcome' | 'messageKind' | 'because' | 'messageCause'
>;

export async function traceBooking(
  database: Database,
  sourceSystemInput: string,
  bookingIdInput: string,
): Promise<BookingTrace> {
  const sourceSystem = sourceSystemInput.slice(0, 64).toUpperCase();
  const bookingId = bookingIdInput.slice(0, 200);
  const { orm } = database;
  const e = engineDecisions;
  const decisions: DecisionRow[] = await orm
    .select({
      id: e.id,
      at: e.at,
      notificationId: e.notificationId,
      heldId: e.heldId,
      logicalAddress: e.logicalAddress,
      outcome: e.outcome,
      messageKind: e.messageKind,
      because: e.because,
      messageCause: e.messageCause,
    })
    .from(e)
    .where(and(eq(e.sourceSystem, sourceSystem), eq(e.bookingId, bookingId)))
    .orderBy(asc(e.id))
    .limit(MAX_TRACE_EVENTS);
  const decidedIds = decisions.map((d) => d.notificationId ?? 0).filter((id) => id > 0);
  // Decided notifications by id; not yet decided (pending) or given up (dead) by the partial indexes.
  const notifications = await notificationsOfBooking(database, {
    decidedIds,
    sourceSystem,
    sourceSystemAsGiven: sourceSystemInput.slice(0, 64),
    bookingId,
    limit: MAX_TRACE_EVENTS,
  });
  const causes = decisions.map((d) => d.messageCause).filter((cause): cause is string => cause !== null);
  // The inbox's and the channels' tables, read raw: each row decoded once, here. Their names are written:
  // no component exports its tables (ARCHITECTURE.md, "Query builder or raw SQL").
  const messages = (
    await rows<{
      id: string | number;
      kind: string;
      subject: string;
      created_at: Date | string;
      read_at: Date | string | null;
      cause: string;
      planned_at: Date | string | null;
      requested: boolean;
    }>(
      orm,
      sql`select m.id, m.kind, m.subject, m.created_at, m.read_at, m.cause, r.planned_at, r.id is not null as requested
        from inbox_message m left join notification_request r on r.message_id = m.id
        where m.cause = any(${`{${causes.map((c) => `"${c}"`).join(',')}}`}::text[])`,
    )
  ).map((m) => ({
    id: decodeId(m.id),
    kind: m.kind,
    subject: m.subject,
    createdAt: decodeDate(m.created_at),
    readAt: dateOrNull(m.read_at),
    cause: m.cause,
    planned: m.planned_at !== null,
    requested: m.requested,
  }));
  // Messages the flood guard holds for their care unit (not in the inbox until released).
  const held = (
    await rows<{
      id: string | number;
      kind: string;
      subject: string;
      held_at: Date | string;
      cause: string;
    }>(
      orm,
      sql`select id, kind, subject, held_at, cause from held_message
          where cause = any(${`{${causes.map((c) => `"${c}"`).join(',')}}`}::text[])`,
    )
  ).map((m) => ({
    id: decodeId(m.id),
    kind: m.kind,
    subject: m.subject,
    heldAt: decodeDate(m.held_at),
    cause: m.cause,
  }));
  const messageIds = messages.map((m) => m.id);
  const deliveries = (
    await rows<{
      message_id: string | number;
      channel: string;
      status: string;
      provider_status: string | null;
      attempts: number;
      created_at: Date | string;
      sent_at: Date | string | null;
    }>(
      orm,
      sql`select dm.message_id, d.channel, d.status, d.provider_status, d.attempts, d.created_at, d.sent_at
        from notification_delivery_message dm join notification_delivery d on d.id = dm.delivery_id
        where dm.message_id = any(${`{${messageIds.join(',')}}`}::bigint[])
        order by d.id`,
    )
  ).map((d) => ({
    messageId: decodeId(d.message_id),
    channel: d.channel,
    status: d.status,
    providerStatus: d.provider_status,
    attempts: d.attempts,
    createdAt: decodeDate(d.created_at),
    sentAt: dateOrNull(d.sent_at),
  }));

  const messageByCause = new Map<string, TraceMessage>(
    messages.map((m) => [
      m.cause,
      {
        id: m.id,
        kind: m.kind,
        subject: maskPersonalData(m.subject),
        createdAt: m.createdAt.toISOString(),
        readAt: iso(m.readAt),
        notice: !m.requested ? 'none' : m.planned ? 'planned' : 'waiting',
        deliveries: deliveries
          .filter((d) => d.messageId === m.id)
          .map((d) => ({
            channel: d.channel,
            status: d.status,
            providerStatus: d.providerStatus,
            attempts: d.attempts,
            createdAt: d.createdAt.toISOString(),
            sentAt: iso(d.sentAt),
          })),
      } satisfies TraceMessage,
    ]),
  );
  for (const m of held) {
    if (messageByCause.has(m.cause)) continue;
    messageByCause.set(m.cause, {
      id: m.id,
      kind: m.kind,
      subject: maskPersonalData(m.subject),
      createdAt: m.heldAt.toISOString(),
      readAt: null,
      notice: 'held',
      deliveries: [],
    });
  }
  const toDecision = (d: DecisionRow): TraceDecision => ({
    at: d.at.toISOString(),
    outcome: d.outcome,
    messageKind: d.messageKind,
    because: d.because,
    becauseSv: becauseInSwedish(d.because),
    message: d.messageCause ? (messageByCause.get(d.messageCause) ?? null) : null,
  });
  const decisionOf = new Map<number, DecisionRow>();
  for (const d of decisions) if (d.notificationId !== null) decisionOf.set(d.notificationId, d);

  // Sorted by when the notification came (or, without one, when the decision was taken); one notification's
  // decisions in the order they were taken.
  const receivedOf = new Map(notifications.map((n) => [n.id, n.receivedAt.getTime()]));
  const events: (TraceEvent & { sortAt: number; order: number })[] = notifications.map((n) => {
    const d = decisionOf.get(n.id);
    return {
      type: 'notification',
      notificationId: n.id,
      heldId: null,
      receivedAt: iso(n.receivedAt),
      deleteFlag: n.deleteFlag,
      categorization: n.categorization,
      logicalAddress: n.logicalAddress ?? d?.logicalAddress ?? '',
      status: n.status,
      attempts: n.attempts,
      // The queue's reason is the engine's or the producer's words, never personal data (engine.ts describeError).
      lastError: n.status === 'done' || n.lastError === null ? null : maskPersonalData(n.lastError),
      deliveredMode: n.deliveredMode,
      decision: d ? toDecision(d) : null,
      sortAt: n.receivedAt.getTime(),
      order: d ? d.id : Number.MAX_SAFE_INTEGER,
    };
  });
  // A decided notification whose queue row has been purged still shows its decision, and a notification
  // decided twice (given up, then retried by an operator) shows the earlier decision as a line of its own.
  const shown = new Set(notifications.map((n) => n.id));
  for (const d of decisions) {
    if (d.notificationId !== null && shown.has(d.notificationId) && decisionOf.get(d.notificationId) === d) continue;
    events.push({
      type: d.heldId !== null ? 'window_ended' : 'notification',
      notificationId: d.notificationId,
      heldId: d.heldId,
      receivedAt: null,
      deleteFlag: null,
      categorization: null,
      logicalAddress: d.logicalAddress,
      status: null,
      attempts: null,
      lastError: null,
      deliveredMode: null,
      decision: toDecision(d),
      sortAt: (d.notificationId !== null ? receivedOf.get(d.notificationId) : undefined) ?? d.at.getTime(),
      order: d.id,
    });
  }
  events.sort((a, b) => a.sortAt - b.sortAt || (a.notificationId ?? 0) - (b.notificationId ?? 0) || a.order - b.order);
  return { sourceSystem, bookingId, events: events.map(({ sortAt: _sortAt, order: _order, ...event }) => event) };
}

/** The bookings (source system, booking id) the engine knows for a citizen; the caller audits the look-up. */
export async function bookingsOfPerson(
  database: Database,
  personalIdentityNumber: string,
): Promise<{ sourceSystem: string; bookingId: string }[]> {
  const found = await rows<{ source_system: string; booking_id: string }>(
    database.orm,
    sql`select distinct upper(source_system) as source_system, booking_id from booking_post
        where resident = ${personalIdentityNumber} order by 1, 2 limit ${MAX_BOOKINGS_PER_PERSON}`,
  );
  return found.map((row) => ({ sourceSystem: row.source_system, bookingId: row.booking_id }));
}
