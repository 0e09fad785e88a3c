// Instants shown as Swedish local time, e.g. "tisdag 3 mars 2026 kl. 14:30" (Europe/Stockholm, with DST).
const ZONE = 'Europe/Stockholm';
const dateFormat = new Intl.DateTimeFormat('sv-SE', {
  timeZone: ZONE,
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});
const clockFormat = new Intl.DateTimeFormat('sv-SE', { timeZone: ZONE, hour: '2-digit', minute: '2-digit' });

export function formatSwedishDate(instant: Date): string {
  return dateFormat.format(instant);
}

export function formatSwedishClock(instant: Date): string {
  return clockFormat.format(instant);
}

/** "tisdag 3 mars 2026 kl. 14:30" */
export function formatSwedishDateTime(instant: Date): string {
  return `${formatSwedishDate(instant)} kl. ${formatSwedishClock(instant)}`;
}

/** "tisdag 3 mars 2026 kl. 14:30–15:00", or across days with both dates. */
export function formatSwedishSpan(start: Date, end: Date | undefined): string {
  if (!end) return formatSwedishDateTime(start);
  if (formatSwedishDate(start) === formatSwedishDate(end)) {
    return `${formatSwedishDateTime(start)}–${formatSwedishClock(end)}`;
  }
  return `${formatSwedishDateTime(start)} – ${formatSwedishDateTime(end)}`;
}
