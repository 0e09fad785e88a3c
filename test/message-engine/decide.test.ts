// The decision function, table-driven: one row per use case of DOMAIN.md (1-13) and per further rule.
import { describe, expect, it } from 'vitest';
import {
  decide,
  decideRelease,
  type Action,
  type BookingSnapshot,
  type DecisionInput,
  type HeldDelete,
  type PostRef,
} from '../../src/message-engine/decide.js';

const NOW = new Date('2026-11-22T10:00:00Z');
const WINDOW = 120_000;
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

function post(overrides: Partial<PostRef> = {}): PostRef {
  return {
    keyHash: 'key-1',
    resident: '191212121212',
    sourceSystem: 'SE-PAS',
    logicalAddress: 'SE-VC1',
    bookingId: 'B1',
    categorization: 'Booking',
    ...overrides,
  };
}

function details(overrides: Partial<BookingSnapshot> = {}): BookingSnapshot {
  return {
    start: '2026-12-01T13:30:00.000Z',
    end: '2026-12-01T14:00:00.000Z',
    healthcareFacility: 'SE-VC1',
    healthcareFacilityName: 'Vårdcentralen Exempel',
    bookingId: 'B1',
    careTypeName: 'Läkarbesök',
    ...overrides,
  };
}

const LATER = { start: '2026-12-03T08:00:00.000Z', end: '2026-12-03T08:30:00.000Z' };
const PAST = { start: '2026-11-20T08:00:00.000Z', end: '2026-11-20T08:30:00.000Z' };

function held(overrides: Partial<HeldDelete> = {}): HeldDelete {
  return {
    id: 7,
    keyHash: 'key-old',
    logicalAddress: 'SE-VC1',
    categorization: 'Booking',
    details: details(),
    deletedAt: at(-30),
    dueAt: at(90),
    ...overrides,
  };
}

function input(
  overrides: Partial<DecisionInput> & { deleteFlag?: boolean; ref?: Partial<PostRef>; receivedAt?: Date },
): DecisionInput {
  const { deleteFlag = false, ref = {}, receivedAt = NOW, ...rest } = overrides;
  return {
    notification: { id: 1, deleteFlag, post: post(ref), receivedAt },
    held: [],
    mode: 'active',
    now: NOW,
    rebookWindowMs: WINDOW,
    ...(deleteFlag ? {} : { details: { kind: 'found', details: details() } }),
    ...rest,
  };
}

/** What a citizen and the engine's state get from a decision, in short. */
function summary(actions: Action[]) {
  return {
    messages: actions.filter((a) => a.type === 'create-message').map((a) => a.kind),
    held: actions.filter((a) => a.type === 'hold-delete').length,
    resolved: actions.filter((a) => a.type === 'resolve-held').map((a) => a.status),
    present: actions.filter((a) => a.type === 'store-post').map((a) => a.post.present),
    security: actions.filter((a) => a.type === 'security-event').length,
    careUnits: actions.filter((a) => a.type === 'record-care-unit').length,
  };
}

const stored = (overrides: Partial<BookingSnapshot> = {}, ref: Partial<PostRef> = {}) => ({
  ...post(ref),
  present: true,
  details: details(overrides),
});

type Row = [name: string, input: DecisionInput, expected: ReturnType<typeof summary>];
const none = { messages: [], held: 0, resolved: [], present: [], security: 0, careUnits: 0 };

const rows: Row[] = [
  [
    'UC1 staff send an invitation',
    input({ ref: { categorization: 'Invitation' } }),
    { ...none, messages: ['invitation'], present: [true], careUnits: 1 },
  ],
  [
    'UC2 citizen books a time',
    input({}),
    { ...none, messages: ['booking_confirmation'], present: [true], careUnits: 1 },
  ],
  [
    'UC3 citizen cancels a booking: the cancellation is held',
    input({ deleteFlag: true, stored: stored() }),
    { ...none, held: 1, present: [false] },
  ],
  [
    'UC4 staff cancel a booking: the cancellation is held',
    input({ deleteFlag: true, stored: stored() }),
    { ...none, held: 1, present: [false] },
  ],
  [
    'UC5 staff withdraw an invitation: held, to be dropped',
    input({
      deleteFlag: true,
      ref: { categorization: 'Invitation' },
      stored: stored({}, { categorization: 'Invitation' }),
    }),
    { ...none, held: 1, present: [false] },
  ],
  [
    'UC6 citizen rebooks, same booking id',
    input({ stored: stored(), details: { kind: 'found', details: details(LATER) } }),
    { ...none, messages: ['rebooking'], present: [true], careUnits: 1 },
  ],
  [
    'UC7 citizen rebooks, new id: delete held then new booking',
    input({
      ref: { keyHash: 'key-2', bookingId: 'B2' },
      held: [held()],
      details: { kind: 'found', details: details({ ...LATER, bookingId: 'B2' }) },
    }),
    { ...none, messages: ['rebooking'], resolved: ['merged'], present: [true], careUnits: 1 },
  ],
  [
    'UC8 citizen books the time of an invitation',
    input({ ref: { keyHash: 'key-2' }, held: [held({ categorization: 'Invitation' })] }),
    { ...none, messages: ['booking_confirmation'], resolved: ['merged'], present: [true], careUnits: 1 },
  ],
  [
    'UC9 staff rebook, same booking id',
    input({ stored: stored(), details: { kind: 'found', details: details({ ...LATER, performer: 'SE-DR2' }) } }),
    { ...none, messages: ['rebooking'], present: [true], careUnits: 1 },
  ],
  [
    'UC10 staff rebook to another unit, new id',
    input({
      ref: { keyHash: 'key-2', logicalAddress: 'SE-VC2' },
      held: [held()],
      details: { kind: 'found', details: details({ ...LATER, healthcareFacility: 'SE-VC2' }) },
    }),
    { ...none, messages: ['rebooking'], resolved: ['merged'], present: [true], careUnits: 1 },
  ],
  [
    'UC11 staff replace an invitation (update of the post)',
    input({
      ref: { categorization: 'Invitation' },
      stored: stored({ start: undefined, end: undefined }, { categorization: 'Invitation' }),
    }),
    { ...none, messages: ['invitation_updated'], present: [true], careUnits: 1 },
  ],
  [
    'UC11 staff replace an invitation (delete + new)',
    input({
      ref: { keyHash: 'key-2', categorization: 'Invitation' },
      held: [held({ categorization: 'Invitation', details: details({ start: undefined, end: undefined }) })],
    }),
    { ...none, messages: ['invitation_updated'], resolved: ['merged'], present: [true], careUnits: 1 },
  ],
  [
    'UC12 the booked time passes: delete without message',
    input({ deleteFlag: true, stored: stored(PAST) }),
    { ...none, present: [false] },
  ],
  [
    'UC13 an invitation expires: held, to be dropped',
    input({
      deleteFlag: true,
      ref: { categorization: 'Invitation' },
      stored: stored(PAST, { categorization: 'Invitation' }),
    }),
    { ...none, held: 1, present: [false] },
  ],
  [
    'a new post whose time has passed',
    input({ details: { kind: 'found', details: details(PAST) } }),
    { ...none, present: [true] },
  ],
  [
    'an update whose new time has passed',
    input({ stored: stored(), details: { kind: 'found', details: details(PAST) } }),
    { ...none, present: [true] },
  ],
  ['the same post again unchanged (redelivery, reload)', input({ stored: stored() }), { ...none, present: [true] }],
  [
    'an update that changes neither time nor place',
    input({ stored: stored(), details: { kind: 'found', details: details({ cancelBookingAllowed: false }) } }),
    { ...none, present: [true] },
  ],
  [
    'delete then the same booking again, unchanged (EI reload)',
    input({ held: [held({ keyHash: 'key-1' })] }),
    { ...none, resolved: ['merged'], present: [true] },
  ],
  [
    'a new booking after the window of a held cancellation',
    input({
      ref: { keyHash: 'key-2' },
      held: [held({ dueAt: at(-1), deletedAt: at(-121) })],
      details: { kind: 'found', details: details(LATER) },
    }),
    { ...none, messages: ['booking_confirmation'], present: [true], careUnits: 1 },
  ],
  [
    'a new invitation does not swallow a held booking cancellation',
    input({ ref: { keyHash: 'key-2', categorization: 'Invitation' }, held: [held()] }),
    { ...none, messages: ['invitation'], present: [true], careUnits: 1 },
  ],
  ['silent source system: a new booking is stored only', input({ mode: 'silent' }), { ...none, present: [true] }],
  [
    'silent source system: a delete is stored only',
    input({ mode: 'silent', deleteFlag: true, stored: stored() }),
    { ...none, present: [false] },
  ],
  [
    'subject_of_care differs from the resident',
    input({ details: { kind: 'subject-mismatch', reason: 'other person' } }),
    { ...none, security: 1 },
  ],
  [
    '"not found" for a new post: stored as not present (never listed as upcoming)',
    input({ details: { kind: 'not-found' } }),
    { ...none, present: [false] },
  ],
  [
    '"not found" for a post the citizen knows: state unchanged (EI\'s delete will say it)',
    input({ stored: stored(), details: { kind: 'not-found' } }),
    none,
  ],
  [
    '"not found" for a cancelled post (a retried older create): stays not present',
    input({ stored: { ...stored(), present: false }, details: { kind: 'not-found' } }),
    { ...none, present: [false] },
  ],
  // Issue cases: what EI really sends.
  [
    'in-place rebooking, notification identical to the first (after the redelivery window): the details decide',
    input({ stored: stored(), details: { kind: 'found', details: details(LATER) } }),
    { ...none, messages: ['rebooking'], present: [true], careUnits: 1 },
  ],
  [
    'identical notification after the redelivery window, producer unchanged (EI reload): no message',
    input({ stored: stored(), details: { kind: 'found', details: details() } }),
    { ...none, present: [true] },
  ],
  [
    'in-place invitation change with the time fields absent: invitation_updated',
    input({
      ref: { categorization: 'Invitation' },
      stored: stored(
        { start: undefined, end: undefined, careTypeName: 'Provtagning' },
        { categorization: 'Invitation' },
      ),
      details: { kind: 'found', details: details({ start: undefined, end: undefined }) },
    }),
    { ...none, messages: ['invitation_updated'], present: [true], careUnits: 1 },
  ],
  [
    'a new booking delivered in the same call as the delete (deletes applied first): one rebooking',
    input({
      ref: { keyHash: 'key-2', bookingId: 'B2' },
      held: [held({ deletedAt: NOW, dueAt: at(120) })],
      details: { kind: 'found', details: details({ ...LATER, bookingId: 'B2' }) },
    }),
    { ...none, messages: ['rebooking'], resolved: ['merged'], present: [true], careUnits: 1 },
  ],
  [
    'a retried delete after the post was created again is never queued; a delete of a post already deleted: no second cancellation',
    input({ deleteFlag: true, stored: { ...stored(), present: false } }),
    none,
  ],
  [
    'delivered in silent mode, processed after the switch to active: stored only',
    input({ mode: 'silent', stored: stored(), details: { kind: 'found', details: details(LATER) } }),
    { ...none, present: [true] },
  ],
  [
    'a mode other than active (a later value of the list): stored only',
    input({ mode: 'held' }),
    { ...none, present: [true] },
  ],
  [
    "delete, then a new post whose time has passed: no rebooking, the delete stays held (a cancellation at the window's end)",
    input({ ref: { keyHash: 'key-2' }, held: [held()], details: { kind: 'found', details: details(PAST) } }),
    { ...none, present: [true] },
  ],
  ['a delete of a post never seen', input({ deleteFlag: true }), none],
  ['a delete of a post already deleted', input({ deleteFlag: true, stored: { ...stored(), present: false } }), none],
];

describe('decide: one row per use case and rule', () => {
  it.each(rows)('%s', (_name, given, expected) => {
    expect(summary(decide(given).actions)).toEqual(expected);
  });

  it('When a booking is rebooked, then the rebooking carries the old time as previous and the new as details', () => {
    const result = decide(
      input({
        ref: { keyHash: 'key-2', bookingId: 'B2' },
        held: [held()],
        details: { kind: 'found', details: details({ ...LATER, bookingId: 'B2' }) },
      }),
    );
    const created = result.actions.find((a) => a.type === 'create-message');
    expect(created).toMatchObject({
      kind: 'rebooking',
      previous: { start: details().start },
      details: { start: LATER.start },
    });
  });

  it('When a held cancellation and held invitation both exist, then a new booking merges the booking of the same care unit first', () => {
    const result = decide(
      input({
        ref: { keyHash: 'key-3' },
        held: [
          held({ id: 1, categorization: 'Invitation' }),
          held({ id: 2, logicalAddress: 'SE-VC9' }),
          held({ id: 3 }),
        ],
        details: { kind: 'found', details: details(LATER) },
      }),
    );
    expect(result.actions).toContainEqual({ type: 'resolve-held', id: 3, status: 'merged' });
  });

  it('When a delete is held, then it is due one window after EI delivered it', () => {
    const result = decide(input({ deleteFlag: true, stored: stored(), receivedAt: at(-10) }));
    const hold = result.actions.find((a) => a.type === 'hold-delete');
    expect(hold).toMatchObject({ deletedAt: at(-10), dueAt: at(110) });
  });
});

describe('decideRelease: a held delete whose window ended', () => {
  const ref = post();
  it.each([
    ['UC3/4 a held booking cancellation becomes a cancellation', held(), ['cancellation'], 'released'],
    ['UC5/13 a held invitation delete is dropped', held({ categorization: 'Invitation' }), [], 'dropped'],
    ['a held cancellation whose time passed meanwhile is dropped', held({ details: details(PAST) }), [], 'dropped'],
  ] as const)('%s', (_name, given, kinds, status) => {
    const { actions } = decideRelease({ ...given, post: ref }, NOW);
    expect(actions.filter((a) => a.type === 'create-message').map((a) => a.kind)).toEqual(kinds);
    expect(actions.find((a) => a.type === 'resolve-held')).toMatchObject({ status });
    // A cancellation does not add a care-unit relation.
    expect(actions.some((a) => a.type === 'record-care-unit')).toBe(false);
  });
});
