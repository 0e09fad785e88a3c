// "Lägg till i kalendern": one upcoming booking as an iCalendar file (RFC 5545), written by
// ical-generator, never by hand. The time is given in Europe/Stockholm with that zone's VTIMEZONE (from
// @touch4it/ical-timezones), so a calendar shows the booked wall-clock time whatever its own zone, also
// across a summer-time change. Only what the citizen needs in a calendar goes in: the time and, as the
// place, the care unit. No care type, purpose, reason or performer: a calendar is often shared or synced
// to places the inbox does not control, and the citizen can add more themselves.
import { createHash } from 'node:crypto';
import { getVtimezoneComponent } from '@touch4it/ical-timezones';
import dayjs from 'dayjs';
import timezone from 'dayjs/plugin/timezone.js';
import utc from 'dayjs/plugin/utc.js';
import ical from 'ical-generator';

dayjs.extend(utc);
dayjs.extend(timezone);

export const CALENDAR_ZONE = 'Europe/Stockholm';
/** A booking without an end gets this long an entry in the calendar. */
const DEFAULT_MINUTES = 30;

export interface CalendarBooking {
  bookingId: string;
  kind: 'booking' | 'invitation';
  start: string;
  end: string | null;
  careUnit: { hsaId: string; name: string | null };
}

/** A stable UID per booking, so that a second download updates the entry instead of adding one. */
function uidOf(booking: CalendarBooking): string {
  const digest = createHash('sha256')
    .update(`${booking.careUnit.hsaId}\n${booking.bookingId}`)
    .digest('hex')
    .slice(0, 32);
  return `${digest}@ei-inbox`;
}

/** The booking as a calendar file (text/calendar). `now` is the DTSTAMP. */
export function bookingCalendar(booking: CalendarBooking, now: Date = new Date()): string {
  const start = new Date(booking.start);
  const end = booking.end ? new Date(booking.end) : new Date(start.getTime() + DEFAULT_MINUTES * 60_000);
  const place = booking.careUnit.name ?? booking.careUnit.hsaId;
  const calendar = ical({ prodId: { company: '1177', product: 'Inkorgen', language: 'SV' }, name: '1177 Inkorgen' });
  // The zone is set on the event, not as the calendar's: ical-generator would otherwise write DTSTAMP in
  // local time too, where RFC 5545 wants UTC. The generator still adds the event zone's VTIMEZONE.
  calendar.timezone({ name: null, generator: getVtimezoneComponent });
  calendar.createEvent({
    id: uidOf(booking),
    stamp: now,
    start: dayjs(start).tz(CALENDAR_ZONE),
    end: dayjs(end).tz(CALENDAR_ZONE),
    timezone: CALENDAR_ZONE,
    summary: booking.kind === 'invitation' ? `Kallelse: tid hos ${place}` : `Bokad tid hos ${place}`,
    location: place,
    description: 'Från din inkorg på 1177. Ändringar av tiden syns i inkorgen.',
  });
  return calendar.toString();
}

/** A file name for the download: ASCII only, no producer text. */
export function calendarFileName(booking: CalendarBooking): string {
  return `bokad-tid-${dayjs(booking.start).tz(CALENDAR_ZONE).format('YYYY-MM-DD-HHmm')}.ics`;
}
