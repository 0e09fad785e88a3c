// The rules of a trace by personal identity number: the number (12 digits, as the citizen's token's
// `sub`) and a reason of some substance, both checked before anything is read; and the audited look-up
// itself, the same from the API and from /admin.
import { recordAudit } from '../activation-registry/index.js';
import type { Database } from '../db/index.js';
import type { Logger } from '../logging.js';
import { bookingsOfPerson, traceBooking, type BookingTrace } from '../message-engine/index.js';

export const TRACE_AUDIT = { action: 'trace.by_person', entity: 'citizen' } as const;
export const MIN_REASON_LENGTH = 10;
export const MAX_REASON_LENGTH = 500;

export type TraceByPerson =
  { ok: true; personalIdentityNumber: string; reason: string } | { ok: false; message: string; swedish: string };

export function checkTraceByPerson(input: unknown): TraceByPerson {
  const body = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const raw = typeof body.personalIdentityNumber === 'string' ? body.personalIdentityNumber.trim().slice(0, 20) : '';
  // Written with or without the hyphen (19121212-1212); stored and matched as 12 digits.
  const number = raw.replace(/^(\d{8})[-+]?(\d{4})$/, '$1$2');
  if (!/^\d{12}$/.test(number)) {
    return {
      ok: false,
      message: 'personalIdentityNumber must be 12 digits (YYYYMMDDNNNN)',
      swedish: 'Personnumret ska ha 12 siffror (ÅÅÅÅMMDD-NNNN).',
    };
  }
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (reason.length < MIN_REASON_LENGTH || reason.length > MAX_REASON_LENGTH || /[\u0000-\u001f\u007f]/.test(reason)) {
    return {
      ok: false,
      message:
        `reason is required: why the look-up is needed (${MIN_REASON_LENGTH} to ` +
        `${MAX_REASON_LENGTH} characters, e.g. the support case)`,
      swedish:
        `Ange skälet till sökningen (${MIN_REASON_LENGTH}–${MAX_REASON_LENGTH} tecken), till ` +
        `exempel ärendenumret.`,
    };
  }
  return { ok: true, personalIdentityNumber: number, reason };
}

/** The traces of a person's bookings, audited before anything is shown: who looked, for whom, and why. */
export async function traceByPerson(
  deps: { database: Database; log: Logger },
  actor: string,
  request: { personalIdentityNumber: string; reason: string },
  via: 'api' | 'admin page',
): Promise<BookingTrace[]> {
  const bookings = await bookingsOfPerson(deps.database, request.personalIdentityNumber);
  await recordAudit(deps.database.orm, {
    actor,
    action: TRACE_AUDIT.action,
    entity: TRACE_AUDIT.entity,
    entityId: request.personalIdentityNumber,
    after: { reason: request.reason, bookings: bookings.length, via },
  });
  deps.log.info({ actor, bookings: bookings.length }, 'trace by personal identity number (audited)');
  const traces: BookingTrace[] = [];
  for (const booking of bookings)
    traces.push(await traceBooking(deps.database, booking.sourceSystem, booking.bookingId));
  return traces;
}
