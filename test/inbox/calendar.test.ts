// "Lägg till i kalendern": the .ics files are read back with an independent parser from the npm registry
// (ical.js, Mozilla's). The time must come back as the same instant on both sides of the summer-time
// changes, using only the VTIMEZONE inside the file, and the file must carry the care unit as the place
// and nothing about the visit's health details. Over HTTP: only the citizen's own upcoming bookings.
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookingCalendar, type CalendarBooking } from '../../src/inbox/calendar.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { CITIZEN_A, CITIZEN_B, insertBookingPost } from '../helpers/inbox-fixtures.js';
import { PageClient } from './page-client.js';

function booking(start: string, end: string | null): CalendarBooking {
  return {
    bookingId: 'BK-1',
    kind: 'booking',
    start,
    end,
    careUnit: { hsaId: 'SE2321000016-ABCD', name: 'Vårdcentralen Åby, hus B' },
  };
}

/** Parses the file and answers its one event's instants, converted with the file's own VTIMEZONE only. */
function readBack(text: string) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  const zones = calendar.getAllSubcomponents('vtimezone');
  expect(zones.map((zone) => zone.getFirstPropertyValue('tzid'))).toEqual(['Europe/Stockholm']);
  // Nothing but the file's own definition may decide the offsets.
  ICAL.TimezoneService.reset();
  ICAL.TimezoneService.register(zones[0]!);
  const event = new ICAL.Event(calendar.getFirstSubcomponent('vevent')!);
  const start = event.startDate;
  expect(start.zone?.tzid).toBe('Europe/Stockholm');
  const dtstart = calendar.getFirstSubcomponent('vevent')!.getFirstProperty('dtstart')!;
  return {
    start: start.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    wallClock: String(dtstart.getFirstValue()),
    tzidParameter: dtstart.getParameter('tzid'),
    location: event.location,
    summary: event.summary,
    description: event.description,
    uid: event.uid,
    stamp: String(calendar.getFirstSubcomponent('vevent')!.getFirstPropertyValue('dtstamp')),
  };
}

describe('The calendar file', () => {
  const cases: [string, string, string, string][] = [
    [
      'the day before summer time starts (CET, +01:00)',
      '2027-03-27T09:00:00.000Z',
      '2027-03-27T09:30:00.000Z',
      '2027-03-27T10:00:00',
    ],
    [
      'the day summer time starts (CEST, +02:00)',
      '2027-03-28T08:00:00.000Z',
      '2027-03-28T08:30:00.000Z',
      '2027-03-28T10:00:00',
    ],
    [
      'across the spring change itself (01:30 CET to 03:30 CEST, one hour)',
      '2027-03-28T00:30:00.000Z',
      '2027-03-28T01:30:00.000Z',
      '2027-03-28T01:30:00',
    ],
    [
      'the day before summer time ends (CEST)',
      '2027-10-30T08:00:00.000Z',
      '2027-10-30T08:20:00.000Z',
      '2027-10-30T10:00:00',
    ],
    ['the day summer time ends (CET)', '2027-10-31T09:00:00.000Z', '2027-10-31T09:20:00.000Z', '2027-10-31T10:00:00'],
  ];
  for (const [situation, start, end, wallClock] of cases) {
    it(`When a booking is ${situation}, then a parser reads back the same instants from the file's own time zone`, () => {
      const back = readBack(bookingCalendar(booking(start, end), new Date('2027-01-01T12:00:00Z')));
      expect(back.tzidParameter).toBe('Europe/Stockholm');
      expect(back.wallClock).toBe(wallClock);
      expect(back.start).toBe(start);
      expect(back.end).toBe(end);
    });
  }

  it('When a booking has no end, then the entry lasts 30 minutes', () => {
    const back = readBack(bookingCalendar(booking('2027-06-01T07:00:00.000Z', null)));
    expect(back.end).toBe('2027-06-01T07:30:00.000Z');
  });

  it('When the file is written, then the care unit is the place, DTSTAMP is UTC, the UID is stable, and no health detail is in it', () => {
    const text = bookingCalendar(
      booking('2027-06-01T07:00:00.000Z', '2027-06-01T07:30:00.000Z'),
      new Date('2027-01-01T12:00:00Z'),
    );
    const back = readBack(text);
    expect(back.location).toBe('Vårdcentralen Åby, hus B');
    expect(back.summary).toBe('Bokad tid hos Vårdcentralen Åby, hus B');
    expect(back.stamp).toBe('2027-01-01T12:00:00Z');
    expect(back.uid).toBe(readBack(bookingCalendar(booking('2027-09-01T07:00:00.000Z', null))).uid);
    expect(text).toMatch(/^BEGIN:VCALENDAR\r\n/);
    expect(text).not.toMatch(/[^\r]\n/);
  });
});

describe('The calendar file over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLES: 'web' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("When the citizen follows the list's calendar link, then an .ics of that booking comes back; another citizen's booking is not found", async () => {
    const start = new Date(Date.now() + 9 * 86_400_000);
    start.setUTCSeconds(0, 0);
    await insertBookingPost(t.database, {
      resident: CITIZEN_A,
      bookingId: 'CAL-1',
      details: {
        start: start.toISOString(),
        careTypeName: 'Psykoterapi',
        purpose: 'Samtal',
        cancelBookingAllowed: true,
      },
    });
    await insertBookingPost(t.database, {
      resident: CITIZEN_B,
      bookingId: 'CAL-B',
      details: { start: start.toISOString() },
    });
    const browser = new PageClient(t.url);
    await browser.signIn(CITIZEN_A);
    const inbox = await browser.get('/inbox');
    const href = /href="(\/inbox\/kalender\.ics\?[^"]+)"[^>]*>Lägg till i kalendern/
      .exec(inbox.text)?.[1]
      ?.replace(/&amp;/g, '&');
    expect(href).toBe('/inbox/kalender.ics?enhet=SE2321000016-TEST&bokning=CAL-1');
    const file = await browser.get(href!);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    expect(file.headers.get('content-disposition')).toMatch(
      /^attachment; filename="bokad-tid-\d{4}-\d{2}-\d{2}-\d{4}\.ics"$/,
    );
    const back = readBack(file.text);
    expect(back.start).toBe(start.toISOString());
    expect(back.location).toBe('Vårdcentralen Test');
    expect(file.text).not.toMatch(/Psykoterapi|Samtal|191212121212/);

    const others = await browser.get('/inbox/kalender.ics?enhet=SE2321000016-TEST&bokning=CAL-B');
    expect(others.status).toBe(404);
    expect(others.text).not.toContain('BEGIN:VCALENDAR');
    const anonymous = await new PageClient(t.url).get(href!);
    expect(anonymous.status).toBe(303);
  });
});
