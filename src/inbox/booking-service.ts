// Links to the booking service ("bokningstjänsten"), where a citizen cancels, rebooks or books a time:
// the inbox itself cannot do any of that. The link is a template configured per environment
// (BOOKING_SERVICE_URL, or BOOKING_SERVICE_URL_QA / _PROD) with the placeholders {careUnit} (the care
// unit's HSA-id), {bookingId} and, optionally, {action} (`avboka`, `omboka` or `boka`). Which links a
// booking gets is decided here, purely, from what the producer allows (cancel_booking_allowed,
// rebooking_allowed) and the booking's state; table-tested in test/inbox/booking-service.test.ts.

export const BOOKING_ACTIONS = ['avboka', 'omboka', 'boka'] as const;
export type BookingAction = (typeof BOOKING_ACTIONS)[number];

export const PLACEHOLDERS = ['{careUnit}', '{bookingId}', '{action}'] as const;

export interface BookingLink {
  /** What the link does; `{action}` in the template is filled with it (or the combined actions). */
  actions: BookingAction[];
  label: string;
  href: string;
}

/** What the decision needs to know about one booking, invitation or cancelled booking. */
export interface BookingLinkSubject {
  careUnit: string;
  bookingId: string | null;
  /** `cancelled`: the message is a cancellation; `open`: an invitation without a set time. */
  state: 'upcoming' | 'open' | 'cancelled' | 'passed';
  cancelAllowed: boolean;
  rebookAllowed: boolean;
}

const LABEL: Record<string, string> = {
  avboka: 'Avboka tiden',
  omboka: 'Boka om tiden',
  'avboka,omboka': 'Avboka eller boka om tiden',
  boka: 'Boka en tid',
};
const NEW_TIME_LABEL = 'Boka en ny tid';

/** Which actions the booking service offers for this booking, by what the producer allows. */
export function offeredActions(subject: BookingLinkSubject): BookingAction[] {
  switch (subject.state) {
    case 'passed':
      return [];
    // An invitation without a time exists to be booked: that is what the electronic invitation is for.
    case 'open':
      return ['boka'];
    // A new time can be booked on the web where the care unit let this booking be changed on the web.
    case 'cancelled':
      return subject.cancelAllowed || subject.rebookAllowed ? ['boka'] : [];
    case 'upcoming':
      return [
        ...(subject.cancelAllowed ? (['avboka'] as const) : []),
        ...(subject.rebookAllowed ? (['omboka'] as const) : []),
      ];
  }
}

function fill(template: string, values: Record<string, string>): string {
  let out = template;
  for (const [name, value] of Object.entries(values)) out = out.split(`{${name}}`).join(encodeURIComponent(value));
  return out;
}

/**
 * The links for a booking: none without a configured template or a booking id. With `{action}` in the
 * template each action has its own link; without it, one link names all the allowed actions.
 */
export function bookingLinks(template: string | undefined, subject: BookingLinkSubject): BookingLink[] {
  const actions = offeredActions(subject);
  if (template === undefined || actions.length === 0 || !subject.bookingId) return [];
  const values = { careUnit: subject.careUnit, bookingId: subject.bookingId };
  const groups = template.includes('{action}') ? actions.map((action) => [action]) : [actions];
  return groups.map((group) => ({
    actions: group,
    label: subject.state === 'cancelled' ? NEW_TIME_LABEL : LABEL[group.join(',')]!,
    href: fill(template, { ...values, action: group.join(',') }),
  }));
}

/** Checks a configured template; answers a reason when it is not usable, undefined when it is. */
export function templateProblem(template: string, production: boolean): string | undefined {
  if (template.length > 2000) return 'is longer than 2000 characters';
  if (!template.includes('{bookingId}')) return 'must contain {bookingId}';
  let url: URL;
  try {
    url = new URL(fill(template, { careUnit: 'SE0000000000-X', bookingId: 'B1', action: 'boka' }));
  } catch {
    return 'is not a URL once {careUnit}, {bookingId} and {action} are filled in';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !production))
    return production ? 'must be an https URL in production' : 'must be an http(s) URL';
  return undefined;
}
