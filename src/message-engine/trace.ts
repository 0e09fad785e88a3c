// The administrators' trace of one booking: every notification received for it, the engine's decision and
// why (in Swedish), the message made, and each SMS/e-mail delivery with its status. Looked up by source
// system + booking id, or (support role only, audited by the caller) by the citizen's personal identity
// number. Read only; no personal data in what it returns (no identity numbers, phone numbers, addresses
// or message text). Every look-up goes through an index: decisions by (source system, booking id).
import { sql } from 'drizzle-orm';
import { rows, type Database } from '../db/index.js';
import { maskPersonalData } from '../logging.js';
import { notificationsOfBooking } from '../queue/index.js';
import { becauseInSwedish } from './trace-words.js';

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
  notice: 'waiting' | 'planned' | 'none' | 'held';
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
  type: 'notification' | 'window_ended';
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

const iso = (value: Date | string | null | undefined): string | null => (value ? new Date(value).toISOString() : null);

interface DecisionRow {
  id: string | number;
  at: Date | string;
  notification_id: string | number | null;
  held_id: string | number | null;
  logical_address: string;
  outcome: string;
  message_kind: string | null;
  because: string;
  message_cause: string | null;
}

export async function traceBooking(
  database: Database,
  sourceSystemInput: string,
  bookingIdInput: string,
): Promise<BookingTrace> {
  const sourceSystem = sourceSystemInput.slice(0, 64).toUpperCase();
  const bookingId = bookingIdInput.slice(0, 200);
  const { orm } = database;
  const decisions = await rows<DecisionRow>(
    orm,
    sql`select id, at, notification_id, held_id, logical_address, outcome, message_kind, because, message_cause
        from engine_decision where source_system = ${sourceSystem} and booking_id = ${bookingId}
        order by id limit ${MAX_TRACE_EVENTS}`,
  );
  const decidedIds = decisions.map((d) => Number(d.notification_id)).filter((id) => id > 0);
  // Decided notifications by id; not yet decided (pending) or given up (dead) by the partial indexes.
  const notifications = await notificationsOfBooking(database, {
    decidedIds,
    sourceSystem,
    sourceSystemAsGiven: sourceSystemInput.slice(0, 64),
    bookingId,
    limit: MAX_TRACE_EVENTS,
  });
  const causes = decisions.map((d) => d.message_cause).filter((cause): cause is string => cause !== null);
  const messages = await rows<{
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
  );
  // Messages the flood guard holds for their care unit (not in the inbox until released).
  const held = await rows<{
    id: string | number;
    kind: string;
    subject: string;
    held_at: Date | string;
    cause: string;
  }>(
    orm,
    sql`select id, kind, subject, held_at, cause from held_message where cause = any(${`{${causes.map((c) => `"${c}"`).join(',')}}`}::text[])`,
  );
  const messageIds = messages.map((m) => Number(m.id));
  const deliveries = await rows<{
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
  );

  const messageByCause = new Map<string, TraceMessage>(
    messages.map((m) => [
      m.cause,
      {
        id: Number(m.id),
        kind: m.kind,
        subject: maskPersonalData(m.subject),
        createdAt: iso(m.created_at)!,
        readAt: iso(m.read_at),
        notice: !m.requested ? 'none' : m.planned_at ? 'planned' : 'waiting',
        deliveries: deliveries
          .filter((d) => Number(d.message_id) === Number(m.id))
          .map((d) => ({
            channel: d.channel,
            status: d.status,
            providerStatus: d.provider_status,
            attempts: d.attempts,
            createdAt: iso(d.created_at)!,
            sentAt: iso(d.sent_at),
          })),
      } satisfies TraceMessage,
    ]),
  );
  for (const m of held) {
    if (messageByCause.has(m.cause)) continue;
    messageByCause.set(m.cause, {
      id: Number(m.id),
      kind: m.kind,
      subject: maskPersonalData(m.subject),
      createdAt: iso(m.held_at)!,
      readAt: null,
      notice: 'held',
      deliveries: [],
    });
  }
  const toDecision = (d: DecisionRow): TraceDecision => ({
    at: iso(d.at)!,
    outcome: d.outcome,
    messageKind: d.message_kind,
    because: d.because,
    becauseSv: becauseInSwedish(d.because),
    message: d.message_cause ? (messageByCause.get(d.message_cause) ?? null) : null,
  });
  const decisionOf = new Map<number, DecisionRow>();
  for (const d of decisions) if (d.notification_id !== null) decisionOf.set(Number(d.notification_id), d);

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
      logicalAddress: n.logicalAddress ?? d?.logical_address ?? '',
      status: n.status,
      attempts: n.attempts,
      // The queue's reason is the engine's or the producer's words, never personal data (engine.ts describeError).
      lastError: n.status === 'done' || n.lastError === null ? null : maskPersonalData(n.lastError),
      deliveredMode: n.deliveredMode,
      decision: d ? toDecision(d) : null,
      sortAt: n.receivedAt.getTime(),
      order: d ? Number(d.id) : Number.MAX_SAFE_INTEGER,
    };
  });
  // A decided notification whose queue row has been purged still shows its decision, and a notification
  // decided twice (given up, then retried by an operator) shows the earlier decision as a line of its own.
  const shown = new Set(notifications.map((n) => n.id));
  for (const d of decisions) {
    if (
      d.notification_id !== null &&
      shown.has(Number(d.notification_id)) &&
      decisionOf.get(Number(d.notification_id)) === d
    )
      continue;
    events.push({
      type: d.held_id !== null ? 'window_ended' : 'notification',
      notificationId: d.notification_id !== null ? Number(d.notification_id) : null,
      heldId: d.held_id !== null ? Number(d.held_id) : null,
      receivedAt: null,
      deleteFlag: null,
      categorization: null,
      logicalAddress: d.logical_address,
      status: null,
      attempts: null,
      lastError: null,
      deliveredMode: null,
      decision: toDecision(d),
      sortAt:
        (d.notification_id !== null ? receivedOf.get(Number(d.notification_id)) : undefined) ??
        new Date(d.at).getTime(),
      order: Number(d.id),
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
