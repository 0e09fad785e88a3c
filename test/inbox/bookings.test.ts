// Seed 002's rules for the list of upcoming bookings, one row per rule, on the pure function.
import { describe, expect, it } from 'vitest';
import {
  latestStart,
  leftOutReason,
  upcomingBookings,
  type LeftOutReason,
  type StoredBookingPost,
} from '../../src/inbox/bookings.js';
import type { BookingSnapshot } from '../../src/message-engine/decide.js';

const NOW = new Date('2026-03-03T10:00:00.000Z');

function post(details: Partial<BookingSnapshot> | null, overrides: Partial<StoredBookingPost> = {}): StoredBookingPost {
  return {
    bookingId: 'B-1',
    categorization: 'Booking',
    details:
      details === null
        ? null
        : ({ healthcareFacility: 'SE-UNIT-1', healthcareFacilityName: 'Vårdcentralen', ...details } as BookingSnapshot),
    ...overrides,
  };
}

const rules: { situation: string; post: StoredBookingPost; expected: LeftOutReason | undefined }[] = [
  {
    situation: 'a booked time tomorrow',
    post: post({ start: '2026-03-04T10:00:00.000Z', end: '2026-03-04T10:30:00.000Z' }),
    expected: undefined,
  },
  {
    situation: 'an invitation with a set time',
    post: post({ start: '2026-04-01T08:00:00.000Z' }, { categorization: 'Invitation' }),
    expected: undefined,
  },
  { situation: 'a time without an end', post: post({ start: '2026-04-01T08:00:00.000Z' }), expected: undefined },
  {
    situation: 'a time whose start has passed',
    post: post({ start: '2026-03-03T09:59:59.000Z', end: '2026-03-03T11:00:00.000Z' }),
    expected: 'passed',
  },
  { situation: 'a time that starts exactly now', post: post({ start: NOW.toISOString() }), expected: 'passed' },
  { situation: 'a time without a start', post: post({ end: '2026-04-01T08:30:00.000Z' }), expected: 'no_start' },
  {
    situation: 'an open invitation (no time set)',
    post: post({}, { categorization: 'Invitation' }),
    expected: 'no_start',
  },
  { situation: 'a post without details', post: post(null), expected: 'no_start' },
  {
    situation: 'a start the producer sent badly formatted',
    post: post({ badTime: true, end: '2026-04-01T08:30:00.000Z' }),
    expected: 'bad_time',
  },
  { situation: 'a start that is not an instant', post: post({ start: '20260401083000' }), expected: 'bad_time' },
  {
    situation: 'an end that is badly formatted',
    post: post({ start: '2026-04-01T08:00:00.000Z', end: '2026-13-01T08:30:00Z' }),
    expected: 'bad_time',
  },
  {
    situation: 'a time without a care unit',
    post: post({ start: '2026-04-01T08:00:00.000Z', healthcareFacility: '' }),
    expected: 'no_care_unit',
  },
  {
    situation: 'a time with a blank care unit',
    post: post({ start: '2026-04-01T08:00:00.000Z', healthcareFacility: '   ' }),
    expected: 'no_care_unit',
  },
  {
    situation: 'a time exactly three years ahead',
    post: post({ start: '2029-03-03T10:00:00.000Z' }),
    expected: undefined,
  },
  {
    situation: 'a time more than three years ahead',
    post: post({ start: '2029-03-03T10:00:01.000Z' }),
    expected: 'too_far_ahead',
  },
];

describe('Upcoming bookings (seed 002)', () => {
  it.each(rules)(
    'When the list meets $situation, then it is $expected (undefined: shown)',
    ({ post: stored, expected }) => {
      expect(leftOutReason(stored, NOW)).toBe(expected);
      expect(upcomingBookings([stored], NOW)).toHaveLength(expected === undefined ? 1 : 0);
    },
  );

  it('When several times are shown, then they are sorted by start and carry the care unit and what the producer allows', () => {
    const list = upcomingBookings(
      [
        post({ start: '2026-05-01T08:00:00.000Z', cancelBookingAllowed: true }, { bookingId: 'LATE' }),
        post(
          { start: '2026-03-10T08:00:00.000Z', end: '2026-03-10T08:20:00.000Z', rebookingAllowed: true },
          { bookingId: 'SOON', categorization: 'Invitation' },
        ),
        post({ start: '2026-01-01T08:00:00.000Z' }, { bookingId: 'PASSED' }),
      ],
      NOW,
    );
    expect(list.map((b) => b.bookingId)).toEqual(['SOON', 'LATE']);
    expect(list[0]).toMatchObject({
      kind: 'invitation',
      start: '2026-03-10T08:00:00.000Z',
      end: '2026-03-10T08:20:00.000Z',
      careUnit: { hsaId: 'SE-UNIT-1', name: 'Vårdcentralen' },
      rebookAllowed: true,
      cancelAllowed: false,
    });
    expect(list[1]).toMatchObject({ kind: 'booking', end: null, cancelAllowed: true });
  });

  it('When the three-year limit falls on 29 February, then it moves to 1 March', () => {
    expect(latestStart(new Date('2028-02-29T12:00:00.000Z')).toISOString()).toBe('2031-03-01T12:00:00.000Z');
  });
});
