// A strict, namespace-aware reader of GetBookingDetails answers (saxes), used for every HTTP answer the
// platform gives: a GetBookingDetailsResponse, a SOAP 1.1 Fault, or something unreadable.
//
// Why not the object the soap client builds: its parser (sax-js) ignores namespaces, so it cannot tell
// isInvitation of the 1.1 extension namespace from an element of the same name elsewhere, accepts a
// DTD, and turns an answer of another service into a half-empty object instead of an error.
import { SaxesParser, type SaxesTagNS } from 'saxes';

export const NS = {
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  responder: 'urn:riv:crm:scheduling:GetBookingDetailsResponder:1',
  scheduling: 'urn:riv:crm:scheduling:1',
  schedulingExtension: 'urn:riv:crm:scheduling:1.1',
  registry: 'urn:riv:itintegration:registry:1',
  headers: 'urn:riv:interoperability:headers:1',
} as const;

/** The elements of TimeslotType (urn:riv:crm:scheduling:1), in schema order. */
export const TIMESLOT_FIELDS = [
  'startTimeInclusive',
  'endTimeExclusive',
  'healthcare_facility',
  'performer',
  'bookingId',
  'subject_of_care',
  'purpose',
  'reason',
  'resourceName',
  'healthcare_facility_name',
  'performerName',
  'resourceID',
  'timeTypeName',
  'timeTypeID',
  'careTypeName',
  'careTypeID',
  'cancel_booking_allowed',
  'rebooking_allowed',
  'message_allowed',
] as const;
export type TimeslotField = (typeof TIMESLOT_FIELDS)[number] | 'isInvitation';
const TIMESLOT_FIELD_SET: ReadonlySet<string> = new Set(TIMESLOT_FIELDS);

/** The answer is far smaller; deeper nesting is an attack on saxes' prefix lookup, not an answer. */
const MAX_DEPTH = 32;

export type ReadAnswer =
  /** timeslot undefined: a GetBookingDetailsResponse without timeslotDetail. */
  | { kind: 'response'; timeslot: Partial<Record<TimeslotField, string>> | undefined }
  | { kind: 'fault'; faultcode: string; faultstring: string }
  | { kind: 'unreadable'; reason: string };

class Unreadable extends Error {}

type Place = 'envelope' | 'header' | 'body' | 'fault' | 'fault-field' | 'response' | 'timeslot' | 'field' | 'skip';

export function readGetBookingDetailsAnswer(xml: string): ReadAnswer {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const places: Place[] = [];
  let bodyContent: 'fault' | 'response' | undefined;
  let timeslot: Partial<Record<TimeslotField, string>> | undefined;
  let field: TimeslotField | undefined;
  const fault = { faultcode: '', faultstring: '' };
  let faultField: 'faultcode' | 'faultstring' | undefined;
  let text = '';
  let sawEnvelope = false;
  let sawBody = false;

  const fail = (reason: string): never => {
    throw new Unreadable(reason);
  };

  parser.on('doctype', () => fail('a document type declaration (DTD) is not allowed'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (places.length >= MAX_DEPTH) fail('elements nested too deep');
    const parent = places.at(-1);
    const uri = tag.uri;
    const local = tag.local;
    let place: Place = 'skip';
    if (parent === undefined) {
      if (sawEnvelope || uri !== NS.soap11 || local !== 'Envelope')
        fail(`not a SOAP 1.1 envelope (root element ${tag.name})`);
      sawEnvelope = true;
      place = 'envelope';
    } else if (parent === 'envelope') {
      if (uri === NS.soap11 && local === 'Header' && !sawBody) place = 'header';
      else if (uri === NS.soap11 && local === 'Body' && !sawBody) place = 'body';
      else fail(`unexpected element ${tag.name} in the envelope`);
      if (place === 'body') sawBody = true;
    } else if (parent === 'body') {
      if (bodyContent) fail('more than one element in the SOAP Body');
      if (uri === NS.soap11 && local === 'Fault') place = bodyContent = 'fault';
      else if (uri === NS.responder && local === 'GetBookingDetailsResponse') place = bodyContent = 'response';
      else fail(`the SOAP Body holds ${tag.name}, not a GetBookingDetailsResponse`);
    } else if (parent === 'fault') {
      // SOAP 1.1 fault children are unqualified; detail and faultactor are passed over.
      if (uri === '' && (local === 'faultcode' || local === 'faultstring')) {
        place = 'fault-field';
        faultField = local;
        text = '';
      }
    } else if (parent === 'response') {
      if (uri === NS.responder && local === 'timeslotDetail') {
        if (timeslot) fail('more than one timeslotDetail');
        timeslot = {};
        place = 'timeslot';
      } else if (uri === NS.responder) {
        fail(`unexpected element ${local} in GetBookingDetailsResponse`);
      }
      // Elements of other namespaces: the schema's xs:any ##other, passed over.
    } else if (parent === 'timeslot') {
      const known =
        (uri === NS.scheduling && TIMESLOT_FIELD_SET.has(local)) ||
        (uri === NS.schedulingExtension && local === 'isInvitation');
      if (known) {
        const name = local as TimeslotField;
        if (timeslot && name in timeslot) fail(`${local} appears twice in timeslotDetail`);
        field = name;
        place = 'field';
        text = '';
      }
      // Anything else (a later version's element, a name in the wrong namespace) is not ours to read.
    } else if (parent === 'field' || parent === 'fault-field') {
      fail(`markup inside ${field ?? faultField ?? 'a value'}`);
    }
    places.push(place);
  });
  parser.on('text', (value) => {
    const place = places.at(-1);
    if (place === 'field' || place === 'fault-field') text += value;
  });
  parser.on('cdata', (value) => {
    const place = places.at(-1);
    if (place === 'field' || place === 'fault-field') text += value;
  });
  parser.on('closetag', () => {
    const place = places.pop();
    if (place === 'field' && timeslot && field) {
      timeslot[field] = text;
      field = undefined;
    } else if (place === 'fault-field' && faultField) {
      fault[faultField] = text.trim();
      faultField = undefined;
    }
  });

  try {
    parser.write(xml).close();
  } catch (error) {
    const reason =
      error instanceof Unreadable ? error.message : `not well-formed XML (${(error as Error).message.split('\n')[0]})`;
    return { kind: 'unreadable', reason };
  }
  if (!sawEnvelope) return { kind: 'unreadable', reason: 'empty answer' };
  if (!sawBody) return { kind: 'unreadable', reason: 'no SOAP Body' };
  if (bodyContent === 'fault') return { kind: 'fault', ...fault };
  if (bodyContent === 'response') return { kind: 'response', timeslot };
  return { kind: 'unreadable', reason: 'an empty SOAP Body' };
}
