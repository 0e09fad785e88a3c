// DEVELOPMENT ONLY. The demo's built-in GetBookingDetails producer: a small RIVTA SOAP server on a free
// 127.0.0.1 port that plays the booking system behind NTjP for the demo source system. It answers from
// an in-memory table of bookings, keyed by (LogicalAddress header, bookingId), and with a "not found"
// fault for anything else. The message engine calls it through the real details fetcher, exactly as it
// would call NTjP. It is started only with DEMO=true, which loadConfig refuses in production.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SaxesParser } from 'saxes';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const REGISTRY = 'urn:riv:itintegration:registry:1';
const RESPONDER = 'urn:riv:crm:scheduling:GetBookingDetailsResponder:1';
const SCHEDULING = 'urn:riv:crm:scheduling:1';
const SCHEDULING_EXT = 'urn:riv:crm:scheduling:1.1';
/** Requests above this are refused unread (a GetBookingDetails call is well under 2 kB). */
const MAX_REQUEST_BYTES = 64 * 1024;

/** One timeslotDetail; times are TS (`YYYYMMDDhhmmss`, Swedish local time). */
export interface DemoTimeslot {
  startTimeInclusive?: string;
  endTimeExclusive?: string;
  healthcareFacilityName: string;
  performer?: string;
  performerName?: string;
  subjectOfCare: string;
  purpose?: string;
  resourceName?: string;
  timeTypeName?: string;
  careTypeName?: string;
  cancelBookingAllowed?: boolean;
  rebookingAllowed?: boolean;
  isInvitation?: boolean;
}

export interface DemoProducer {
  /** Where the details fetcher calls it (http://127.0.0.1:<port>/GetBookingDetails/1/rivtabp21). */
  readonly url: string;
  /** Adds or replaces what the booking system holds for (care unit, booking id). */
  set(logicalAddress: string, bookingId: string, timeslot: DemoTimeslot): void;
  /** The booking system no longer has it (cancelled, time passed). */
  remove(logicalAddress: string, bookingId: string): void;
  /** Calls answered so far (for the demo's own test). */
  readonly calls: number;
  close(): Promise<void>;
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function envelope(body: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP11}"><soap:Header/>` +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

function fault(code: 'soap:Client' | 'soap:Server', text: string): string {
  return envelope(
    `<soap:Fault><faultcode>${code}</faultcode><faultstring>${escapeXml(text)}</faultstring></soap:Fault>`,
  );
}

// TimeslotType's elements in schema order.
const ELEMENTS: [keyof DemoTimeslot | 'healthcareFacility' | 'bookingId', string][] = [
  ['startTimeInclusive', 'startTimeInclusive'],
  ['endTimeExclusive', 'endTimeExclusive'],
  ['healthcareFacility', 'healthcare_facility'],
  ['performer', 'performer'],
  ['bookingId', 'bookingId'],
  ['subjectOfCare', 'subject_of_care'],
  ['purpose', 'purpose'],
  ['resourceName', 'resourceName'],
  ['healthcareFacilityName', 'healthcare_facility_name'],
  ['performerName', 'performerName'],
  ['timeTypeName', 'timeTypeName'],
  ['careTypeName', 'careTypeName'],
  ['cancelBookingAllowed', 'cancel_booking_allowed'],
  ['rebookingAllowed', 'rebooking_allowed'],
];

function answer(logicalAddress: string, bookingId: string, timeslot: DemoTimeslot): string {
  const values: Record<string, unknown> = { ...timeslot, healthcareFacility: logicalAddress, bookingId };
  const fields = ELEMENTS.filter(([key]) => values[key] !== undefined)
    .map(([key, element]) => `<core:${element}>${escapeXml(String(values[key]))}</core:${element}>`)
    .join('');
  const invitation =
    timeslot.isInvitation === undefined ? '' : `<ext:isInvitation>${timeslot.isInvitation}</ext:isInvitation>`;
  return envelope(
    `<gbd:GetBookingDetailsResponse xmlns:gbd="${RESPONDER}" xmlns:core="${SCHEDULING}" ` +
      `xmlns:ext="${SCHEDULING_EXT}">` +
      `<gbd:timeslotDetail>${fields}${invitation}</gbd:timeslotDetail></gbd:GetBookingDetailsResponse>`,
  );
}

/** LogicalAddress (header) and bookingId (body) of a GetBookingDetails call; undefined if it is not one. */
function readCall(body: string): { logicalAddress: string; bookingId: string } | undefined {
  const parser = new SaxesParser({ xmlns: true });
  const path: string[] = [];
  let text = '';
  let logicalAddress: string | undefined;
  let bookingId: string | undefined;
  parser.on('opentag', (tag) => {
    path.push(`${tag.uri}|${tag.local}`);
    text = '';
  });
  parser.on('text', (value) => (text += value));
  parser.on('closetag', (tag) => {
    path.pop();
    if (tag.uri === REGISTRY && tag.local === 'LogicalAddress') logicalAddress = text.trim();
    if (tag.uri === RESPONDER && tag.local === 'bookingId' && path.at(-1) === `${RESPONDER}|GetBookingDetails`)
      bookingId = text.trim();
    text = '';
  });
  try {
    parser.write(body).close();
  } catch {
    return undefined;
  }
  return logicalAddress && bookingId ? { logicalAddress, bookingId } : undefined;
}

export async function startDemoProducer(): Promise<DemoProducer> {
  const bookings = new Map<string, DemoTimeslot>();
  const key = (logicalAddress: string, bookingId: string) => `${logicalAddress}\u0000${bookingId}`;
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      calls++;
      const call = readCall(Buffer.concat(chunks).toString('utf8'));
      const booking = call && bookings.get(key(call.logicalAddress, call.bookingId));
      res.writeHead(call && booking ? 200 : 500, { 'content-type': 'text/xml; charset=utf-8' });
      if (!call) res.end(fault('soap:Client', 'Invalid request: not a GetBookingDetails call'));
      else if (!booking) res.end(fault('soap:Client', 'Booking not found'));
      else res.end(answer(call.logicalAddress, call.bookingId, booking));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/GetBookingDetails/1/rivtabp21`,
    set: (logicalAddress, bookingId, timeslot) => void bookings.set(key(logicalAddress, bookingId), timeslot),
    remove: (logicalAddress, bookingId) => void bookings.delete(key(logicalAddress, bookingId)),
    get calls() {
      return calls;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
