// DEVELOPMENT ONLY. The demo's sample notifications: every use case of the booking domain, played by the
// demo source system for the test person, as EI would deliver them. Each step sets what the demo
// booking system holds (the built-in producer) and sends one ProcessNotification call to this service's
// own SOAP endpoint, then waits until the worker has processed it, so that each step sees the state the
// previous one left (a booking must be known before it can be rebooked in place).
//
// Order matters because the rebooking window works per citizen and source system: a delete held for
// the window is completed by the next new post of the same citizen. So: all new posts first, then the
// in-place updates (no delete), then each delete + new pair in a call of its own, and the plain deletes
// last. Their cancellations appear when the window (REBOOK_WINDOW_SECONDS) has ended.
import type { MessageKind } from '../inbox/index.js';
import { formatSwedishLocalTime } from '../time/index.js';
import type { DemoProducer, DemoTimeslot } from './producer.js';

/** The usual Swedish test person. */
export const DEMO_RESIDENT = '191212121212';
/** The demo booking system's HSA-id (what it sends as sourceSystem); registered at start with DEMO=true. */
export const DEMO_SOURCE_SYSTEM = 'SE0000000000-DEMOPAS';
export const DEMO_SOURCE_SYSTEM_NAME = 'Demo-bokningssystem (endast utveckling)';

const UNITS = {
  vc: { hsaId: 'SE0000000000-DEMOVC1', name: 'Vårdcentralen Demo' },
  onh: { hsaId: 'SE0000000000-DEMOVC2', name: 'Demokliniken Öron-näsa-hals' },
  lab: { hsaId: 'SE0000000000-DEMOVC3', name: 'Demomottagningen Provtagning' },
} as const;
type Unit = (typeof UNITS)[keyof typeof UNITS];

export type DemoMessageKind = MessageKind;

/** One use case: what happens, and which messages the test person gets along the way. */
export interface DemoUseCase {
  number: number;
  title: string;
  /** Every message it produces, in order (the first is usually the post being created). */
  messages: readonly DemoMessageKind[];
}

export const DEMO_USE_CASES: readonly DemoUseCase[] = [
  { number: 1, title: 'Personalen skickar en kallelse', messages: ['invitation'] },
  { number: 2, title: 'Invånaren bokar en tid', messages: ['booking_confirmation'] },
  { number: 3, title: 'Invånaren avbokar', messages: ['booking_confirmation', 'cancellation'] },
  { number: 4, title: 'Personalen avbokar', messages: ['booking_confirmation', 'cancellation'] },
  { number: 5, title: 'Personalen drar tillbaka en kallelse', messages: ['invitation'] },
  { number: 6, title: 'Invånaren bokar om, samma boknings-id', messages: ['booking_confirmation', 'rebooking'] },
  {
    number: 7,
    title: 'Invånaren bokar om till en ny tid med nytt id',
    messages: ['booking_confirmation', 'rebooking'],
  },
  { number: 8, title: 'Invånaren bokar tiden i en kallelse', messages: ['invitation', 'booking_confirmation'] },
  { number: 9, title: 'Personalen bokar om, samma boknings-id', messages: ['booking_confirmation', 'rebooking'] },
  {
    number: 10,
    title: 'Personalen bokar om till en annan mottagning',
    messages: ['booking_confirmation', 'rebooking'],
  },
  {
    number: 11,
    title: 'Personalen ersätter en öppen kallelse med en med tid',
    messages: ['invitation', 'invitation_updated'],
  },
  { number: 12, title: 'Den bokade tiden passerar', messages: [] },
  { number: 13, title: 'En kallelse går ut', messages: ['invitation'] },
];

interface Post {
  categorization: 'Booking' | 'Invitation';
  unit: Unit;
  bookingId: string;
}

interface Transaction {
  deleteFlag: boolean;
  post: Post;
  /** EI's updateTime: a change in place carries a new one, so it is not taken for a redelivery. */
  updateTime: string;
}

export interface DemoCall {
  /** What the step shows, for the log. */
  label: string;
  /** What the demo booking system holds from this step on. */
  produce: { post: Post; timeslot?: DemoTimeslot }[];
  transactions: Transaction[];
}

const DAY_MS = 86_400_000;

/** A time `days` from now at a Swedish wall-clock time, as TS. */
function at(now: Date, days: number, clock: string): string {
  return `${formatSwedishLocalTime(new Date(now.getTime() + days * DAY_MS)).slice(0, 8)}${clock.replace(':', '')}00`;
}

function slot(
  now: Date,
  unit: Unit,
  days: number,
  from: string,
  to: string,
  extra: Partial<DemoTimeslot> = {},
): DemoTimeslot {
  return {
    startTimeInclusive: at(now, days, from),
    endTimeExclusive: at(now, days, to),
    healthcareFacilityName: unit.name,
    performer: 'SE0000000000-DEMOP1',
    performerName: 'Doktor Demo',
    subjectOfCare: DEMO_RESIDENT,
    timeTypeName: 'Besök',
    careTypeName: 'Läkarbesök',
    cancelBookingAllowed: true,
    rebookingAllowed: true,
    ...extra,
  };
}

/** An invitation without a set time ("open"): the citizen books it. */
function openInvitation(unit: Unit, careTypeName: string): DemoTimeslot {
  return {
    healthcareFacilityName: unit.name,
    subjectOfCare: DEMO_RESIDENT,
    careTypeName,
    purpose: 'Boka en tid när det passar dig',
    isInvitation: true,
  };
}

/** The calls of one run. `runId` makes every run's booking ids new, so the demo can be run again. */
export function demoCalls(runId: string, now: Date): DemoCall[] {
  const post = (uc: string, categorization: Post['categorization'], unit: Unit): Post => ({
    categorization,
    unit,
    bookingId: `DEMO-${runId}-${uc}`,
  });
  const p = {
    uc1: post('1', 'Invitation', UNITS.vc),
    uc2: post('2', 'Booking', UNITS.vc),
    uc3: post('3', 'Booking', UNITS.onh),
    uc4: post('4', 'Booking', UNITS.lab),
    uc5: post('5', 'Invitation', UNITS.lab),
    uc6: post('6', 'Booking', UNITS.vc),
    uc7: post('7', 'Booking', UNITS.vc),
    uc7new: post('7B', 'Booking', UNITS.vc),
    uc8: post('8', 'Invitation', UNITS.lab),
    uc8new: post('8B', 'Booking', UNITS.lab),
    uc9: post('9', 'Booking', UNITS.onh),
    uc10: post('10', 'Booking', UNITS.vc),
    uc10new: post('10B', 'Booking', UNITS.onh),
    uc11: post('11', 'Invitation', UNITS.onh),
    uc12: post('12', 'Booking', UNITS.vc),
    uc13: post('13', 'Invitation', UNITS.vc),
  };
  const created = formatSwedishLocalTime(now);
  const later = (minutes: number) => formatSwedishLocalTime(new Date(now.getTime() + minutes * 60_000));
  const add = (target: Post, step = 0): Transaction => ({
    deleteFlag: false,
    post: target,
    updateTime: step === 0 ? created : later(step),
  });
  const remove = (target: Post, step: number): Transaction => ({
    deleteFlag: true,
    post: target,
    updateTime: later(step),
  });
  const invitation = (unit: Unit, days: number, careTypeName: string) =>
    slot(now, unit, days, '09:00', '09:30', { careTypeName, isInvitation: true, purpose: 'Årlig kontroll' });

  const initial: DemoCall['produce'] = [
    { post: p.uc1, timeslot: invitation(UNITS.vc, 21, 'Hälsokontroll') },
    { post: p.uc2, timeslot: slot(now, UNITS.vc, 7, '10:30', '11:00') },
    { post: p.uc3, timeslot: slot(now, UNITS.onh, 9, '13:00', '13:30', { careTypeName: 'Hörselundersökning' }) },
    { post: p.uc4, timeslot: slot(now, UNITS.lab, 10, '08:15', '08:30', { careTypeName: 'Provtagning' }) },
    { post: p.uc5, timeslot: invitation(UNITS.lab, 30, 'Provtagning') },
    { post: p.uc6, timeslot: slot(now, UNITS.vc, 11, '08:00', '08:30') },
    { post: p.uc7, timeslot: slot(now, UNITS.vc, 12, '14:00', '14:30') },
    { post: p.uc8, timeslot: openInvitation(UNITS.lab, 'Blodprov') },
    { post: p.uc9, timeslot: slot(now, UNITS.onh, 13, '09:00', '09:45', { careTypeName: 'Återbesök' }) },
    { post: p.uc10, timeslot: slot(now, UNITS.vc, 15, '15:00', '15:30') },
    { post: p.uc11, timeslot: openInvitation(UNITS.onh, 'Hörselkontroll') },
    // Use case 12: a booking whose time has already passed (EI deletes such posts afterwards).
    { post: p.uc12, timeslot: slot(now, UNITS.vc, -1, '10:00', '10:30') },
    { post: p.uc13, timeslot: invitation(UNITS.vc, 5, 'Vaccination') },
  ];

  return [
    {
      label: 'new posts: use cases 1, 2 and 12, and the bookings and invitations the others change',
      produce: initial,
      transactions: initial.map(({ post: target }) => add(target)),
    },
    {
      label: 'changes in place: use cases 6, 9 and 11',
      produce: [
        { post: p.uc6, timeslot: slot(now, UNITS.vc, 11, '13:00', '13:30') },
        {
          post: p.uc9,
          timeslot: slot(now, UNITS.onh, 16, '10:00', '10:45', {
            careTypeName: 'Återbesök',
            performerName: 'Doktor Exempel',
            performer: 'SE0000000000-DEMOP2',
          }),
        },
        { post: p.uc11, timeslot: invitation(UNITS.onh, 18, 'Hörselkontroll') },
      ],
      transactions: [add(p.uc6, 1), add(p.uc9, 1), add(p.uc11, 1)],
    },
    {
      label: 'use case 7: delete and a new booking',
      produce: [{ post: p.uc7 }, { post: p.uc7new, timeslot: slot(now, UNITS.vc, 12, '16:00', '16:30') }],
      transactions: [remove(p.uc7, 2), add(p.uc7new, 2)],
    },
    {
      label: 'use case 8: the invitation is booked',
      produce: [
        { post: p.uc8 },
        { post: p.uc8new, timeslot: slot(now, UNITS.lab, 8, '07:45', '08:00', { careTypeName: 'Blodprov' }) },
      ],
      transactions: [remove(p.uc8, 3), add(p.uc8new, 3)],
    },
    {
      label: 'use case 10: delete and a new booking at another unit',
      produce: [{ post: p.uc10 }, { post: p.uc10new, timeslot: slot(now, UNITS.onh, 17, '11:00', '11:30') }],
      transactions: [remove(p.uc10, 4), add(p.uc10new, 4)],
    },
    {
      label: 'deletes: use cases 3, 4, 5, 12 and 13 (cancellations after the rebooking window)',
      produce: [{ post: p.uc3 }, { post: p.uc4 }, { post: p.uc5 }, { post: p.uc12 }, { post: p.uc13 }],
      transactions: [remove(p.uc3, 5), remove(p.uc4, 5), remove(p.uc5, 5), remove(p.uc12, 5), remove(p.uc13, 5)],
    },
  ];
}

export function applyToProducer(producer: DemoProducer, call: DemoCall): void {
  for (const { post, timeslot } of call.produce) {
    if (timeslot) producer.set(post.unit.hsaId, post.bookingId, timeslot);
    else producer.remove(post.unit.hsaId, post.bookingId);
  }
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The ProcessNotification envelope EI would send for this call. */
export function processNotificationXml(consumerHsaId: string, call: DemoCall): string {
  const transactions = call.transactions
    .map(
      (t) => `<pn:engagementTransaction>
  <ei:deleteFlag>${t.deleteFlag}</ei:deleteFlag>
  <ei:engagement>
    <ei:registeredResidentIdentification>${DEMO_RESIDENT}</ei:registeredResidentIdentification>
    <ei:serviceDomain>riv:crm:scheduling</ei:serviceDomain>
    <ei:categorization>${t.post.categorization}</ei:categorization>
    <ei:logicalAddress>${escapeXml(t.post.unit.hsaId)}</ei:logicalAddress>
    <ei:businessObjectInstanceIdentifier>${escapeXml(t.post.bookingId)}</ei:businessObjectInstanceIdentifier>
    <ei:clinicalProcessInterestId>NA</ei:clinicalProcessInterestId>
    <ei:sourceSystem>${DEMO_SOURCE_SYSTEM}</ei:sourceSystem>
    <ei:updateTime>${t.updateTime}</ei:updateTime>
    <ei:dataController>SE0000000000-DEMO</ei:dataController>
    <ei:owner>SE0000000000-EI</ei:owner>
  </ei:engagement>
</pn:engagementTransaction>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:reg="urn:riv:itintegration:registry:1"
  xmlns:pn="urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1"
  xmlns:ei="urn:riv:itintegration:engagementindex:1">
<soapenv:Header><reg:LogicalAddress>${escapeXml(consumerHsaId)}</reg:LogicalAddress></soapenv:Header>
<soapenv:Body><pn:ProcessNotification>
${transactions}
</pn:ProcessNotification></soapenv:Body>
</soapenv:Envelope>`;
}
