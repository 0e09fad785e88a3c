// A real, programmable GetBookingDetails producer for tests (and the fetch benchmark): an HTTP(S) server on
// a free 127.0.0.1 port that speaks the RIVTA contract (CONTRACT §3) the way NTjP + a booking system would.
//
//   const producer = await startBookingProducer();
//   producer.addBooking('SE2321000016-VC1', 'BOK-1', { startTimeInclusive: '20261122093000', subjectOfCare: '191212121212' });
//   ... point the code under test at producer.url ...
//   expect(producer.requests[0]).toMatchObject({ logicalAddress: 'SE2321000016-VC1', actorId: '191212121212' });
//   await producer.close();
//
// By default it answers from its in-memory bookings, keyed by (LogicalAddress header, bookingId), and
// with a "not found" SOAP fault for any other booking. `producer.handle(fn)` puts a handler in front:
// it sees each recorded request and returns an answer (details, a fault, an HTTP status, a raw body, a
// delay, or no answer at all), or undefined to fall back to the bookings.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SaxesParser, type SaxesTagNS } from 'saxes';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const REGISTRY = 'urn:riv:itintegration:registry:1';
const HEADERS = 'urn:riv:interoperability:headers:1';
const RESPONDER = 'urn:riv:crm:scheduling:GetBookingDetailsResponder:1';
const SCHEDULING = 'urn:riv:crm:scheduling:1';
const SCHEDULING_EXT = 'urn:riv:crm:scheduling:1.1';

export const PRODUCER_PATH = '/GetBookingDetails/1/rivtabp21';
export const NOT_FOUND_FAULTSTRING = 'Booking not found';

/**
 * One timeslotDetail as the producer sends it. Times are TS strings (`YYYYMMDDhhmmss`, Swedish local
 * time) exactly as written on the wire; booleans may be given as strings to send odd values. Absent
 * fields are not written. healthcareFacility defaults to the request's LogicalAddress.
 */
export interface TimeslotInput {
  startTimeInclusive?: string;
  endTimeExclusive?: string;
  healthcareFacility?: string;
  performer?: string;
  bookingId?: string;
  subjectOfCare?: string;
  purpose?: string;
  reason?: string;
  resourceName?: string;
  healthcareFacilityName?: string;
  performerName?: string;
  resourceId?: string;
  timeTypeName?: string;
  timeTypeId?: string;
  careTypeName?: string;
  careTypeId?: string;
  cancelBookingAllowed?: boolean | string;
  rebookingAllowed?: boolean | string;
  messageAllowed?: boolean | string;
  /** Written in the 1.1 extension namespace, as the contract says. */
  isInvitation?: boolean | string;
  /** Extra XML appended inside timeslotDetail (e.g. an element in a wrong namespace). */
  extraXml?: string;
}

/** What a test's handler tells the producer to do. Every answer may come after `delayMs`. */
export type ProducerAnswer = { delayMs?: number } & (
  | { details: TimeslotInput }
  /** A GetBookingDetailsResponse without timeslotDetail. */
  | { noTimeslot: true }
  /** A SOAP 1.1 fault with HTTP status 500; faultcode defaults to soap:Server. */
  | { fault: string; faultcode?: string }
  /** Any HTTP status with any body (default empty): HTML error pages, malformed XML, ... */
  | { status: number; body?: string; contentType?: string }
  /** Never answers; the connection stays open until the client gives up or the producer closes. */
  | { hang: true }
);

/** One GetBookingDetails call as the producer received it. */
export interface ProducerRequest {
  /** SOAP header LogicalAddress (urn:riv:itintegration:registry:1). */
  logicalAddress?: string;
  /** SOAP header Actor (urn:riv:interoperability:headers:1). */
  actorId?: string;
  actorType?: string;
  /** HTTP header x-rivta-original-serviceconsumer-hsaid. */
  consumerHsaId?: string;
  soapAction?: string;
  /** Body: GetBookingDetails/healthcare_facility and bookingId (responder namespace). */
  healthcareFacility?: string;
  bookingId?: string;
  /** Subject CN of the client certificate (TLS producers only). */
  clientCertificateCn?: string;
  /** Set when the request could not be read as a GetBookingDetails call (then answered with a soap:Client fault). */
  invalid?: string;
  receivedAt: number;
  body: string;
}

export type ProducerHandler = (
  request: ProducerRequest,
) => ProducerAnswer | undefined | Promise<ProducerAnswer | undefined>;

export interface BookingProducerOptions {
  /** Serve HTTPS and require a client certificate signed by `ca` (PEM contents, not paths). */
  tls?: { key: string | Buffer; cert: string | Buffer; ca: string | Buffer };
}

export interface BookingProducer {
  /** The endpoint URL to call (http://127.0.0.1:<port>/GetBookingDetails/1/rivtabp21, or https). */
  url: string;
  /** Every call received, in order of arrival. */
  requests: ProducerRequest[];
  /** Calls received for one LogicalAddress. */
  requestsTo(logicalAddress: string): ProducerRequest[];
  /** Adds (or replaces) a booking served for (logicalAddress, bookingId). */
  addBooking(logicalAddress: string, bookingId: string, details?: TimeslotInput): void;
  removeBooking(logicalAddress: string, bookingId: string): void;
  /** Puts a handler in front of the bookings; undefined removes it. */
  handle(handler: ProducerHandler | undefined): void;
  /** Calls being answered right now, for one LogicalAddress or in all. */
  inFlight(logicalAddress?: string): number;
  /** The most calls that were in flight at once, for one LogicalAddress or in all. */
  maxInFlight(logicalAddress?: string): number;
  /** Connections accepted since the start (a client that reuses its connections opens few). */
  connections(): number;
  /** Forgets recorded requests and in-flight maxima (not the bookings). */
  reset(): void;
  close(): Promise<void>;
}

/** A full booking as a booking system would answer it; override what the test is about. */
export function sampleTimeslot(overrides: TimeslotInput = {}): TimeslotInput {
  return {
    startTimeInclusive: '20261122093000',
    endTimeExclusive: '20261122100000',
    healthcareFacilityName: 'Vårdcentralen Granen',
    performer: 'SE2321000016-P123',
    performerName: 'Anna Läkare',
    subjectOfCare: '191212121212',
    purpose: 'Återbesök',
    reason: 'Uppföljning',
    resourceName: 'Mottagning 3',
    resourceId: 'RES-3',
    timeTypeName: 'Besök',
    timeTypeId: 'TT-1',
    careTypeName: 'Läkarbesök',
    careTypeId: 'CT-7',
    cancelBookingAllowed: true,
    rebookingAllowed: false,
    messageAllowed: true,
    ...overrides,
  };
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// TimeslotType's elements in schema order, with the input field each is written from.
const TIMESLOT_ELEMENTS: [keyof TimeslotInput, string][] = [
  ['startTimeInclusive', 'startTimeInclusive'],
  ['endTimeExclusive', 'endTimeExclusive'],
  ['healthcareFacility', 'healthcare_facility'],
  ['performer', 'performer'],
  ['bookingId', 'bookingId'],
  ['subjectOfCare', 'subject_of_care'],
  ['purpose', 'purpose'],
  ['reason', 'reason'],
  ['resourceName', 'resourceName'],
  ['healthcareFacilityName', 'healthcare_facility_name'],
  ['performerName', 'performerName'],
  ['resourceId', 'resourceID'],
  ['timeTypeName', 'timeTypeName'],
  ['timeTypeId', 'timeTypeID'],
  ['careTypeName', 'careTypeName'],
  ['careTypeId', 'careTypeID'],
  ['cancelBookingAllowed', 'cancel_booking_allowed'],
  ['rebookingAllowed', 'rebooking_allowed'],
  ['messageAllowed', 'message_allowed'],
];

function envelope(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP11}"><soap:Header/><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

/** The GetBookingDetailsResponse envelope for a timeslot (undefined: none). */
export function bookingDetailsResponseXml(timeslot: TimeslotInput | undefined): string {
  let inner = '';
  if (timeslot) {
    const fields = TIMESLOT_ELEMENTS.filter(([key]) => timeslot[key] !== undefined)
      .map(([key, element]) => `<core:${element}>${escapeXml(String(timeslot[key]))}</core:${element}>`)
      .join('');
    const invitation =
      timeslot.isInvitation === undefined
        ? ''
        : `<ext:isInvitation>${String(timeslot.isInvitation)}</ext:isInvitation>`;
    inner = `<gbd:timeslotDetail>${fields}${invitation}${timeslot.extraXml ?? ''}</gbd:timeslotDetail>`;
  }
  return envelope(
    `<gbd:GetBookingDetailsResponse xmlns:gbd="${RESPONDER}" xmlns:core="${SCHEDULING}" xmlns:ext="${SCHEDULING_EXT}">${inner}</gbd:GetBookingDetailsResponse>`,
  );
}

export function soapFaultXml(faultstring: string, faultcode = 'soap:Server'): string {
  return envelope(
    `<soap:Fault><faultcode>${escapeXml(faultcode)}</faultcode><faultstring>${escapeXml(faultstring)}</faultstring></soap:Fault>`,
  );
}

/** Reads the headers and body fields of a GetBookingDetails request (namespace-aware). */
function readRequest(body: string, request: ProducerRequest): void {
  const parser = new SaxesParser({ xmlns: true });
  const stack: SaxesTagNS[] = [];
  let text = '';
  let sawCall = false;
  let sawActor = false;
  parser.on('opentag', (tag) => {
    stack.push(tag);
    text = '';
  });
  parser.on('text', (value) => (text += value));
  parser.on('closetag', (tag) => {
    stack.pop();
    const parent = stack.at(-1);
    const value = text.trim();
    if (tag.uri === REGISTRY && tag.local === 'LogicalAddress' && parent?.local === 'Header') {
      // A second one would mean headers leaking between calls: NTjP would route by either.
      if (request.logicalAddress !== undefined) request.invalid = 'more than one LogicalAddress header';
      request.logicalAddress = value;
    }
    if (tag.uri === HEADERS && tag.local === 'Actor' && parent?.local === 'Header') {
      if (sawActor) request.invalid = 'more than one Actor header';
      sawActor = true;
    }
    if (tag.uri === HEADERS && parent?.uri === HEADERS && parent.local === 'Actor') {
      if (tag.local === 'actorId') request.actorId = value;
      if (tag.local === 'actorType') request.actorType = value;
    }
    if (tag.uri === RESPONDER && parent?.uri === RESPONDER && parent.local === 'GetBookingDetails') {
      if (tag.local === 'healthcare_facility') request.healthcareFacility = value;
      if (tag.local === 'bookingId') request.bookingId = value;
    }
    if (tag.uri === RESPONDER && tag.local === 'GetBookingDetails' && parent?.uri === SOAP11 && parent.local === 'Body')
      sawCall = true;
    text = '';
  });
  try {
    parser.write(body).close();
  } catch (error) {
    request.invalid = `not well-formed XML: ${(error as Error).message}`;
    return;
  }
  if (!sawCall) request.invalid ??= 'the SOAP Body holds no GetBookingDetails';
}

export async function startBookingProducer(options: BookingProducerOptions = {}): Promise<BookingProducer> {
  const bookings = new Map<string, TimeslotInput>();
  const key = (logicalAddress: string, bookingId: string) => `${logicalAddress}\u0000${bookingId}`;
  const requests: ProducerRequest[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  let handler: ProducerHandler | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const count = (address: string, delta: number) => {
    for (const name of [address, '\u0000all']) {
      const now = (inFlight.get(name) ?? 0) + delta;
      inFlight.set(name, now);
      if (now > (maxInFlight.get(name) ?? 0)) maxInFlight.set(name, now);
    }
  };

  const fromBookings = (request: ProducerRequest): ProducerAnswer => {
    const booking = bookings.get(key(request.logicalAddress ?? '', request.bookingId ?? ''));
    if (!booking) return { fault: NOT_FOUND_FAULTSTRING, faultcode: 'soap:Client' };
    return { details: { healthcareFacility: request.logicalAddress, bookingId: request.bookingId, ...booking } };
  };

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const request: ProducerRequest = {
          consumerHsaId: req.headers['x-rivta-original-serviceconsumer-hsaid'] as string | undefined,
          soapAction: req.headers.soapaction as string | undefined,
          receivedAt: Date.now(),
          body,
        };
        const socket = req.socket as TLSSocket;
        if (typeof socket.getPeerCertificate === 'function') {
          const cn = socket.getPeerCertificate()?.subject?.CN;
          if (cn) request.clientCertificateCn = Array.isArray(cn) ? cn.join(',') : cn;
        }
        readRequest(body, request);
        requests.push(request);
        const address = request.logicalAddress ?? '';
        count(address, 1);
        let settled = false;
        const settle = () => {
          if (!settled) count(address, -1);
          settled = true;
        };
        res.on('close', settle);
        try {
          const answer: ProducerAnswer = request.invalid
            ? { fault: `Invalid request: ${request.invalid}`, faultcode: 'soap:Client' }
            : ((await handler?.(request)) ?? fromBookings(request));
          if (answer.delayMs) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                timers.delete(timer);
                resolve();
              }, answer.delayMs);
              timers.add(timer);
            });
          }
          if (res.destroyed) return;
          if ('hang' in answer) return;
          if ('status' in answer) {
            res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/xml; charset=utf-8' });
            res.end(answer.body ?? '');
          } else if ('fault' in answer) {
            res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
            res.end(soapFaultXml(answer.fault, answer.faultcode));
          } else {
            res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
            res.end(bookingDetailsResponseXml('details' in answer ? answer.details : undefined));
          }
        } catch (error) {
          res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
          res.end(soapFaultXml(`test handler failed: ${(error as Error).message}`));
        } finally {
          if (res.writableEnded) settle();
        }
      })();
    });
  };

  const server = options.tls
    ? https.createServer({ ...options.tls, requestCert: true, rejectUnauthorized: true }, listener)
    : http.createServer(listener);
  // The default keep-alive timeout (5 s) is shorter than a long test; let clients keep their connections.
  server.keepAliveTimeout = 60_000;
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${PRODUCER_PATH}`,
    requests,
    requestsTo: (logicalAddress) => requests.filter((r) => r.logicalAddress === logicalAddress),
    addBooking: (logicalAddress, bookingId, details = sampleTimeslot()) =>
      void bookings.set(key(logicalAddress, bookingId), details),
    removeBooking: (logicalAddress, bookingId) => void bookings.delete(key(logicalAddress, bookingId)),
    handle: (next) => void (handler = next),
    inFlight: (logicalAddress) => inFlight.get(logicalAddress ?? '\u0000all') ?? 0,
    maxInFlight: (logicalAddress) => maxInFlight.get(logicalAddress ?? '\u0000all') ?? 0,
    connections: () => connections,
    reset: () => {
      requests.length = 0;
      maxInFlight.clear();
      for (const [name, value] of inFlight) maxInFlight.set(name, value);
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
