// Swedish local time for the SMS rules: quiet hours (SMS_QUIET_HOURS, default 21-08) and the daily cap,
// whose day is the Swedish calendar day. Instants inside; the wall clock comes from src/time.
import { swedishWallClock } from '../time/index.js';

export interface QuietHours {
  /** First quiet hour (e.g. 21). */
  from: number;
  /** First hour when SMS may go again (e.g. 8). */
  to: number;
}

const wallClockOf = swedishWallClock;

/** The instant when Swedish clocks show `hour`:00 on the given day (which is normalised, e.g. day 32). */
function instantAt(year: number, month: number, day: number, hour: number): Date {
  const wallMs = Date.UTC(year, month - 1, day, hour);
  // Guess with the offset at that wall time read as UTC, then correct once: enough away from the 02:00 change.
  let instant = wallMs - (wallClockOf(new Date(wallMs)).asUtcMs - wallMs);
  instant = wallMs - (wallClockOf(new Date(instant)).asUtcMs - instant);
  return new Date(instant);
}

export function isQuiet(now: Date, quiet: QuietHours | undefined): boolean {
  if (!quiet) return false;
  const { hour } = wallClockOf(now);
  return quiet.from > quiet.to ? hour >= quiet.from || hour < quiet.to : hour >= quiet.from && hour < quiet.to;
}

/** When SMS may go again: `now` itself outside the quiet hours, else the next `to`:00 Swedish time. */
export function endOfQuietHours(now: Date, quiet: QuietHours | undefined): Date {
  if (!quiet || !isQuiet(now, quiet)) return now;
  const { year, month, day, hour } = wallClockOf(now);
  const sameDay = instantAt(year, month, day, quiet.to);
  return hour < quiet.to ? sameDay : instantAt(year, month, day + 1, quiet.to);
}

/** Midnight starting the Swedish calendar day of `now`. */
export function startOfSwedishDay(now: Date): Date {
  const { year, month, day } = wallClockOf(now);
  return instantAt(year, month, day, 0);
}

/** The first moment of the next Swedish day when SMS may go (after the quiet hours, if any). */
export function nextSwedishDayForSms(now: Date, quiet: QuietHours | undefined): Date {
  const { year, month, day } = wallClockOf(now);
  return endOfQuietHours(instantAt(year, month, day + 1, 0), quiet);
}
