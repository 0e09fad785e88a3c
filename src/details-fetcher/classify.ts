// From an HTTP answer (status and body) to a DetailsOutcome. Pure: the soap client and the network stay
// in soap-client.ts.
//
// What the contract leaves open, decided here:
// - "Not found". RIVTA GetBookingDetails has no result code, and the schema demands one timeslotDetail,
//   so a producer that does not have the booking says so in one of two ways, both read as `not-found`:
//   a SOAP fault whose faultstring says so (NOT_FOUND_FAULT_PATTERNS: "not found", "does not exist",
//   "hittades inte", "finns inte", ...), or a GetBookingDetailsResponse without timeslotDetail.
//   A fault of the platform itself (faultstring starting with a VP code) is never "not found", even when
//   its text says "No Logical Address found".
// - Platform faults: VP004 (no route for this logical address) and VP007 (not authorised) are
//   `configuration`; every other VP code (VP009 "error contacting the producer" and the rest) and every
//   other fault is `transient`.
// - HTTP status without a SOAP fault: 5xx, 408 and 429 are `transient`; any other non-2xx (a wrong URL,
//   a proxy refusing us) is `configuration` with code `HTTP<status>`: retrying fast will not fix it.
// - A 2xx answer that is not a readable GetBookingDetailsResponse, or one whose timeslotDetail lacks the
//   mandatory healthcare_facility, is `malformed`.
// - Optional values that are empty (or only white space) are absent. A TS that is not a valid time
//   leaves `start`/`end` absent but keeps `startRaw`/`endRaw`; a boolean that is not an xs:boolean
//   ("true", "false", "1", "0") is absent: an optional field written badly does not cost the citizen
//   the message.
import { logSafe } from '../logging.js';
import { parseSwedishLocalTime } from '../time/index.js';
import { readGetBookingDetailsAnswer, type TimeslotField } from './answer-reader.js';
import type { BookingDetails, DetailsOutcome, DetailsRequest } from './types.js';

export const NOT_FOUND_FAULT_PATTERNS: readonly RegExp[] = [
  /\bnot found\b/i,
  /\bdoes not exist\b/i,
  /\bno such booking\b/i,
  /\bunknown booking\b/i,
  /\bhittades inte\b/i,
  /\bfinns inte\b/i,
  /\bokänd bokning\b/i,
];

export const DEFAULT_CONFIGURATION_FAULT_CODES: readonly string[] = ['VP004', 'VP007'];

export interface ClassifyOptions {
  configurationFaultCodes: ReadonlySet<string>;
  notFoundFaultPatterns: readonly RegExp[];
  /** Suggested wait after a configuration error. */
  configurationRetryMs: number;
}

const VP_CODE = /^\s*(VP\d{3})\b/;
/** The producer's text can be long (a stack trace) and may quote a person's number: operators get its start, masked. */
const MAX_REASON_TEXT = 200;

/** The producer's text is cut to this before any regular expression sees it (a fault may be megabytes). */
const MAX_SCANNED_TEXT = 4096;

function shorten(text: string): string {
  const oneLine = logSafe(text.slice(0, MAX_SCANNED_TEXT).replace(/\s+/g, ' ').trim());
  return oneLine.length > MAX_REASON_TEXT ? `${oneLine.slice(0, MAX_REASON_TEXT)}...` : oneLine;
}

/** A transient outcome; retryAfterMs only when there is one to suggest (absent, not undefined). */
export function transient(reason: string, retryAfterMs?: number): Extract<DetailsOutcome, { kind: 'transient' }> {
  return retryAfterMs === undefined ? { kind: 'transient', reason } : { kind: 'transient', reason, retryAfterMs };
}

export function classifyFault(faultcode: string, fullFaultstring: string, options: ClassifyOptions): DetailsOutcome {
  const faultstring = fullFaultstring.slice(0, MAX_SCANNED_TEXT);
  const text = shorten(faultstring);
  const vpCode = VP_CODE.exec(faultstring)?.[1];
  if (vpCode !== undefined) {
    if (options.configurationFaultCodes.has(vpCode)) {
      return {
        kind: 'configuration',
        code: vpCode,
        reason: `platform fault: ${text}`,
        retryAfterMs: options.configurationRetryMs,
      };
    }
    return transient(`platform fault: ${text}`);
  }
  if (options.notFoundFaultPatterns.some((pattern) => pattern.test(faultstring))) {
    return { kind: 'not-found', reason: `the producer does not have the booking (fault: ${text})` };
  }
  // The producer answered (about this booking): one poison booking must not open its care unit's breaker.
  return { ...transient(`producer fault ${shorten(faultcode)}: ${text}`), perBooking: true };
}

export function classifyHttpAnswer(
  status: number,
  body: string,
  request: DetailsRequest,
  options: ClassifyOptions,
): DetailsOutcome {
  const answer = readGetBookingDetailsAnswer(body);
  if (answer.kind === 'fault') return classifyFault(answer.faultcode, answer.faultstring, options);
  if (status >= 500 || status === 408 || status === 429) {
    return transient(`HTTP ${status} without a SOAP fault`);
  }
  if (status < 200 || status >= 300) {
    return {
      kind: 'configuration',
      code: `HTTP${status}`,
      reason: `HTTP ${status} from the service platform`,
      retryAfterMs: options.configurationRetryMs,
    };
  }
  if (answer.kind === 'unreadable') return { kind: 'malformed', reason: `unreadable answer: ${answer.reason}` };
  if (answer.timeslot === undefined) return { kind: 'not-found', reason: 'the answer holds no timeslotDetail' };
  return toBookingDetails(answer.timeslot, request);
}

function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function xsBoolean(value: string | undefined): boolean | undefined {
  switch (present(value)) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      return undefined;
  }
}

/** Copies only the values that are there, so that absent fields stay absent (not `undefined` keys). */
function assignPresent<K extends keyof BookingDetails>(
  target: BookingDetails,
  key: K,
  value: BookingDetails[K] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}

type KeyOf<T> = {
  [K in keyof BookingDetails]-?: NonNullable<BookingDetails[K]> extends T ? K : never;
}[keyof BookingDetails];

/** The producer's texts, kept as given (trimmed) when there: the details' key, and its timeslotDetail field. */
const TEXT_FIELDS: readonly (readonly [KeyOf<string>, TimeslotField])[] = [
  ['healthcareFacilityName', 'healthcare_facility_name'],
  ['performer', 'performer'],
  ['performerName', 'performerName'],
  ['bookingId', 'bookingId'],
  ['subjectOfCare', 'subject_of_care'],
  ['purpose', 'purpose'],
  ['reason', 'reason'],
  ['resourceName', 'resourceName'],
  ['resourceId', 'resourceID'],
  ['timeTypeName', 'timeTypeName'],
  ['timeTypeId', 'timeTypeID'],
  ['careTypeName', 'careTypeName'],
  ['careTypeId', 'careTypeID'],
];
/** The producer's xs:boolean flags, kept when they are one. */
const FLAG_FIELDS: readonly (readonly [KeyOf<boolean>, TimeslotField])[] = [
  ['cancelBookingAllowed', 'cancel_booking_allowed'],
  ['rebookingAllowed', 'rebooking_allowed'],
  ['messageAllowed', 'message_allowed'],
  ['isInvitation', 'isInvitation'],
];

export function toBookingDetails(
  timeslot: Partial<Record<TimeslotField, string>>,
  request: DetailsRequest,
): DetailsOutcome {
  const healthcareFacility = present(timeslot.healthcare_facility);
  if (healthcareFacility === undefined)
    return { kind: 'malformed', reason: 'timeslotDetail has no healthcare_facility' };

  const subjectOfCare = present(timeslot.subject_of_care);
  if (subjectOfCare !== undefined && subjectOfCare.toUpperCase() !== request.resident.trim().toUpperCase()) {
    // Never the numbers themselves: this reason reaches logs and operators.
    return {
      kind: 'subject-mismatch',
      reason: 'subject_of_care in the answer is not the resident of the notification',
    };
  }

  const details: BookingDetails = { healthcareFacility };
  const startRaw = present(timeslot.startTimeInclusive);
  const endRaw = present(timeslot.endTimeExclusive);
  assignPresent(details, 'startRaw', startRaw);
  assignPresent(details, 'start', startRaw === undefined ? undefined : parseSwedishLocalTime(startRaw));
  assignPresent(details, 'endRaw', endRaw);
  assignPresent(details, 'end', endRaw === undefined ? undefined : parseSwedishLocalTime(endRaw));
  for (const [key, field] of TEXT_FIELDS) assignPresent(details, key, present(timeslot[field]));
  for (const [key, field] of FLAG_FIELDS) assignPresent(details, key, xsBoolean(timeslot[field]));
  return { kind: 'found', details };
}
