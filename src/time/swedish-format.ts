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

// Texts already made, by epoch ms: every message formats its booking's start and end (five formats for a
// span), and bookings share their times (slots on the quarter hours of the days ahead). Bounded: emptied
// when full.
const MAX_REMEMBERED = 10_000;
function remembered(format: Intl.DateTimeFormat): (instant: Date) => string {
  const texts = new Map<number, string>();
  return (instant) => {
    const ms = instant.getTime();
    let text = texts.get(ms);
    if (text === undefined) {
      text = format.format(instant);
      if (texts.size >= MAX_REMEMBERED) texts.clear();
      texts.set(ms, text);
    }
    return text;
  };
}
const formatDate = remembered(dateFormat);
const formatClock = remembered(clockFormat);

export function formatSwedishDate(instant: Date): string {
  return formatDate(instant);
}

export function formatSwedishClock(instant: Date): string {
  return formatClock(instant);
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
