// The citizen's upcoming bookings and invitations ("Bokade tider"; the rules: docs/RULES.md, "Upcoming bookings"),
// from the engine's stored
// state of each EI post. Pure: the rules are table-tested in test/inbox/bookings.test.ts.
//
// Seed 002 leaves out every time that
//   - has already started (start <= now),
//   - has no start: this includes an open invitation ("öppen kallelse", no time set yet). The citizen sees
//     such an invitation as its inbox message (kind `invitation`), which asks them to book a time; the
//     list of times only shows times,
//   - has a badly formatted start or end (the engine flags what the producer sent but could not be read),
//   - has no care unit (no healthcare facility HSA-id),
//   - starts more than three years from now.
// What is left is sorted by start (then booking id, for a stable order).
import type { BookingSnapshot } from '../message-engine/index.js';
import { bookingFacts, type BookingFacts } from './booking-facts.js';

export const UPCOMING_KINDS = ['booking', 'invitation'] as const;
export type UpcomingKind = (typeof UPCOMING_KINDS)[number];

/** One stored EI post, as the list needs it (`booking_post` with present = true). */
export interface StoredBookingPost {
  bookingId: string;
  categorization: string;
  details: BookingSnapshot | null | undefined;
}

export interface UpcomingBooking extends BookingFacts {
  bookingId: string;
  /** `booking` (a booked time) or `invitation` (a "kallelse" with a set time). */
  kind: UpcomingKind;
  start: string;
  end: string | null;
  careUnit: { hsaId: string; name: string | null };
}

export type LeftOutReason = 'passed' | 'no_start' | 'bad_time' | 'no_care_unit' | 'too_far_ahead';

export const YEARS_AHEAD = 3;

/** An ISO 8601 instant with a zone, as the engine stores it (Date.toISOString()). */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function instant(value: unknown): Date | undefined {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return undefined;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

/** The limit "three years ahead": the same calendar day and time, three years later (29 Feb -> 1 Mar). */
export function latestStart(now: Date): Date {
  const limit = new Date(now.getTime());
  limit.setUTCFullYear(limit.getUTCFullYear() + YEARS_AHEAD);
  return limit;
}

/** Why a post is left out of the list, or undefined when it is shown. */
export function leftOutReason(post: StoredBookingPost, now: Date): LeftOutReason | undefined {
  const details = post.details;
  const startText = details?.start;
  if (details?.badTime === true) return 'bad_time';
  if (startText === undefined || startText === null || startText === '') return 'no_start';
  const start = instant(startText);
  if (!start) return 'bad_time';
  const endText = details?.end;
  if (endText !== undefined && endText !== null && endText !== '' && !instant(endText)) return 'bad_time';
  if ((details?.healthcareFacility ?? '').trim() === '') return 'no_care_unit';
  if (start.getTime() <= now.getTime()) return 'passed';
  if (start.getTime() > latestStart(now).getTime()) return 'too_far_ahead';
  return undefined;
}

function toUpcoming(post: StoredBookingPost): UpcomingBooking {
  const details = post.details!;
  return {
    bookingId: post.bookingId,
    kind: post.categorization === 'Invitation' ? 'invitation' : 'booking',
    start: instant(details.start)!.toISOString(),
    end: details.end ? instant(details.end)!.toISOString() : null,
    careUnit: { hsaId: details.healthcareFacility.trim(), name: details.healthcareFacilityName ?? null },
    ...bookingFacts(details),
  };
}

/** The upcoming bookings and invitations among `posts`, by the rules of docs/RULES.md, sorted by start. */
export function upcomingBookings(posts: readonly StoredBookingPost[], now: Date): UpcomingBooking[] {
  return posts
    .filter((post) => leftOutReason(post, now) === undefined)
    .map(toUpcoming)
    .sort((a, b) => a.start.localeCompare(b.start) || a.bookingId.localeCompare(b.bookingId));
}
