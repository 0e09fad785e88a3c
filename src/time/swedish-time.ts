// RIVTA TS values (`YYYYMMDDhhmmss`) are Swedish wall-clock time without a zone. Inside the service every
// time is an instant; this is the one place where a TS becomes one.
//
// Two wall-clock hours a year need a rule (java.time's ZonedDateTime.ofLocal, which most Swedish booking
// systems run on, decides them the same way, so we read what the producer most likely meant):
// - spring forward (last Sunday of March, 02:00 -> 03:00): 02:00-02:59 never happens. It is read with the
//   offset in force before the change (+01:00), i.e. moved forward by the gap: 02:30 becomes 03:30 CEST.
// - fall back (last Sunday of October, 03:00 -> 02:00): 02:00-02:59 happens twice. The earlier instant is
//   taken (summer time, +02:00).

const ZONE = 'Europe/Stockholm';
const TS_PATTERN = /^([1-9][0-9]{3})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])([0-5][0-9])([0-5][0-9])$/;
const HOUR_MS = 3_600_000;

const wallClockFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export interface SwedishWallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** The wall-clock time read as if it were UTC (epoch ms), for comparisons and arithmetic. */
  asUtcMs: number;
}

/** What Swedish clocks show at an instant. */
export function swedishWallClock(instant: Date): SwedishWallClock {
  const part: Record<string, number> = {};
  for (const { type, value } of wallClockFormat.formatToParts(instant)) {
    if (type !== 'literal') part[type] = Number(value);
  }
  const { year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN } = part;
  return { year, month, day, hour, minute, second, asUtcMs: Date.UTC(year, month - 1, day, hour, minute, second) };
}

function swedishWallClockMs(instantMs: number): number {
  return swedishWallClock(new Date(instantMs)).asUtcMs;
}

// TS values already read, as epoch ms. A booking's times come back in every answer about it and slots
// repeat (the quarter hours of the days ahead), while reading one costs a time-zone lookup (Intl, about
// as much CPU as the rest of a GetBookingDetails answer's fields). Bounded: emptied when full.
const readInstants = new Map<string, number>();
const MAX_READ_INSTANTS = 10_000;

/**
 * A TS (`YYYYMMDDhhmmss`, Swedish local time) as an instant; undefined when it is not a valid TS
 * (wrong length or characters, or a date that does not exist such as 20260230...).
 */
export function parseSwedishLocalTime(ts: string): Date | undefined {
  const known = readInstants.get(ts);
  if (known !== undefined) return new Date(known);
  const instant = readSwedishLocalTime(ts);
  if (instant) {
    if (readInstants.size >= MAX_READ_INSTANTS) readInstants.clear();
    readInstants.set(ts, instant.getTime());
  }
  return instant;
}

function readSwedishLocalTime(ts: string): Date | undefined {
  const match = TS_PATTERN.exec(ts);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second);
  const asDate = new Date(wallMs);
  // Date.UTC rolls 30 February over into March: such a day does not exist.
  if (asDate.getUTCFullYear() !== year || asDate.getUTCMonth() !== month - 1 || asDate.getUTCDate() !== day)
    return undefined;

  // Sweden is at +02:00 (summer) or +01:00; try the summer offset first so that the repeated
  // autumn hour resolves to the earlier instant.
  const summer = wallMs - 2 * HOUR_MS;
  if (swedishWallClockMs(summer) === wallMs) return new Date(summer);
  // +01:00: winter time, and also the rule for the skipped spring hour (no offset matches it).
  return new Date(wallMs - HOUR_MS);
}

/** An instant as a TS in Swedish local time (for producers in tests, and for building requests). */
export function formatSwedishLocalTime(instant: Date): string {
  const wall = new Date(swedishWallClockMs(instant.getTime()));
  return wall.toISOString().slice(0, 19).replace(/[-T:]/g, '');
}
