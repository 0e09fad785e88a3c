// TS (Swedish local time) to instants, across both daylight-saving changes; instants shown as Swedish text.
import { describe, expect, it } from 'vitest';
import { formatSwedishSpan } from '../../src/time/swedish-format.js';
import { formatSwedishLocalTime, parseSwedishLocalTime } from '../../src/time/swedish-time.js';

describe('parseSwedishLocalTime', () => {
  it.each([
    ['20261122093000', '2026-11-22T08:30:00.000Z', 'winter time is UTC+1'],
    ['20260701120000', '2026-07-01T10:00:00.000Z', 'summer time is UTC+2'],
    ['20260329015959', '2026-03-29T00:59:59.000Z', 'the last second before clocks go forward'],
    ['20260329030000', '2026-03-29T01:00:00.000Z', 'the first second after clocks went forward'],
    ['20260329020000', '2026-03-29T01:00:00.000Z', 'the skipped 02:00 is read as 03:00 summer time'],
    ['20260329023000', '2026-03-29T01:30:00.000Z', 'the skipped 02:30 is read as 03:30 summer time'],
    ['20261025015959', '2026-10-24T23:59:59.000Z', 'before the repeated autumn hour'],
    ['20261025020000', '2026-10-25T00:00:00.000Z', 'the repeated 02:00 is the earlier one (summer time)'],
    ['20261025023000', '2026-10-25T00:30:00.000Z', 'the repeated 02:30 is the earlier one (summer time)'],
    ['20261025030000', '2026-10-25T02:00:00.000Z', 'after the repeated hour, winter time'],
    ['20250330023000', '2025-03-30T01:30:00.000Z', 'another year: skipped hour on 30 March 2025'],
    ['20251026023000', '2025-10-26T00:30:00.000Z', 'another year: repeated hour on 26 October 2025'],
    ['20280229120000', '2028-02-29T11:00:00.000Z', 'a leap day'],
  ])('When the TS is %s, then the instant is %s (%s)', (ts, iso) => {
    expect(parseSwedishLocalTime(ts)?.toISOString()).toBe(iso);
  });

  it('When a time in the skipped spring hour is read, then it shows as the hour after on a Swedish clock', () => {
    expect(formatSwedishLocalTime(parseSwedishLocalTime('20260329023000') as Date)).toBe('20260329033000');
  });

  it('When both readings of the repeated autumn hour exist, then the later one is an hour after the chosen one', () => {
    const chosen = parseSwedishLocalTime('20261025023000') as Date;
    const later = new Date(chosen.getTime() + 3_600_000);
    expect(formatSwedishLocalTime(later)).toBe('20261025023000');
  });

  it('When the same TS is read twice, then each reading is a Date of its own (changing one leaves the next alone)', () => {
    const first = parseSwedishLocalTime('20261122093000') as Date;
    first.setTime(0);
    expect(parseSwedishLocalTime('20261122093000')?.toISOString()).toBe('2026-11-22T08:30:00.000Z');
  });

  it.each([
    ['', 'empty'],
    ['2026112209300', 'thirteen digits'],
    ['202611220930000', 'fifteen digits'],
    ['2026-11-22T09:30', 'ISO format'],
    ['20261122 93000', 'a space'],
    ['20260230120000', '30 February'],
    ['20270229120000', '29 February in a common year'],
    ['20261131120000', '31 November'],
    ['20261322093000', 'month 13'],
    ['20261122243000', 'hour 24'],
    ['20261122096000', 'minute 60'],
    ['09991122093000', 'year 0999 (the TS pattern starts at 1000)'],
    ['２０２６１１２２０９３０００', 'full-width digits'],
  ])('When the TS is %j (%s), then it is undefined', (ts) => {
    expect(parseSwedishLocalTime(ts)).toBeUndefined();
  });
});

describe('formatSwedishSpan', () => {
  it('When a span is shown, then it reads as Swedish local time, the same each time it is asked for', () => {
    const start = new Date('2026-03-03T13:30:00Z');
    const end = new Date('2026-03-03T14:00:00Z');
    for (let i = 0; i < 2; i++) {
      expect(formatSwedishSpan(start, end)).toBe('tisdag 3 mars 2026 kl. 14:30–15:00');
      expect(formatSwedishSpan(new Date('2026-07-01T10:00:00Z'), undefined)).toBe('onsdag 1 juli 2026 kl. 12:00');
    }
    expect(formatSwedishSpan(start, new Date('2026-03-04T08:00:00Z'))).toBe(
      'tisdag 3 mars 2026 kl. 14:30 – onsdag 4 mars 2026 kl. 09:00',
    );
  });
});
