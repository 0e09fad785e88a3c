// The citizen's pages, in Swedish: the inbox (messages with unread marks, upcoming bookings), one message
// with what can be done about it, the delete confirmation, the notification settings ("Aviseringar") and
// the sign-in. Plain semantic HTML: links and forms only, no JavaScript; every producer value is escaped
// by the `html` tag. A booking's facts are named with FACT_LABEL, the same words as the message texts
// (templates/partials/booking-facts.hbs; test/message-engine/message-texts.test.ts keeps them the same).
import type { CitizenSettings } from '../../channels/index.js';
import { html, type SafeHtml } from '../../web/index.js';
import type { BookingLink } from '../booking-service.js';
import type { UpcomingBooking } from '../bookings.js';
import type { MessageKind } from '../../message-engine/index.js';
import type { InboxMessage, MessagePage } from '../inbox-store.js';
import { layout, problemList, span, when, type CitizenBanner } from './layout.js';

export const KIND_LABEL: Record<MessageKind, string> = {
  invitation: 'Kallelse',
  booking_confirmation: 'Bokningsbekräftelse',
  cancellation: 'Avbokning',
  rebooking: 'Ombokning',
  invitation_updated: 'Ändrad kallelse',
};

/** One set of labels for a booking's facts, on the pages and in the message texts. */
export const FACT_LABEL = {
  time: 'Tid',
  newTime: 'Ny tid',
  previousTime: 'Tidigare tid',
  cancelledTime: 'Avbokad tid',
  careUnit: 'Mottagning',
  previousCareUnit: 'Tidigare mottagning',
  purpose: 'Syfte',
  reason: 'Anledning',
  careTypeName: 'Vårdtyp',
  timeTypeName: 'Besöksform',
  performerName: 'Vårdpersonal',
  resourceName: 'Resurs',
} as const;

/** The settings form as typed, so that a refused form comes back as the citizen left it. */
export interface SettingsForm {
  smsEnabled: boolean;
  phone: string;
  emailEnabled: boolean;
  address: string;
}

export function settingsFormOf(settings: CitizenSettings): SettingsForm {
  return {
    smsEnabled: settings.sms.enabled,
    phone: settings.sms.phone ?? '',
    emailEnabled: settings.email.enabled,
    address: settings.email.address ?? '',
  };
}

function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

function careUnitName(careUnit: { hsaId: string; name: string | null }): string {
  return careUnit.name ?? careUnit.hsaId;
}

/** An instant as the pages show it, machine-readable in `datetime`. */
function timeOf(iso: string): SafeHtml {
  return html`<time datetime="${iso}">${when(iso)}</time>`;
}

function messageItem(message: InboxMessage): SafeHtml {
  const unread = message.readAt === null;
  return html`<li${unread ? html` class="unread"` : ''}>
<a href="/inbox/meddelanden/${message.id}">${
    unread ? html`<span class="mark">Oläst</span> ` : ''
  }<span class="subject">${message.subject}</span></a>
<div class="meta">${KIND_LABEL[message.kind] ?? message.kind} · ${careUnitName(message.careUnit)} · ${timeOf(
    message.createdAt,
  )}</div>
</li>`;
}

/** What can be done about a booking: the booking service's links and the calendar file. */
export interface BookingActions {
  links: BookingLink[];
  /** The .ics of the booking as it stands now; absent when it is not an upcoming booking. */
  calendarHref?: string;
}

function actionLinks(actions: BookingActions, context: string): SafeHtml[] {
  const spoken = context ? html`<span class="visually-hidden">, ${context}</span>` : '';
  return [
    // The visible words come first in the accessible name (WCAG 2.5.3), the time after them for screen readers.
    ...actions.links.map(
      (link) =>
        html`<li><a class="button" href="${link.href}" rel="noopener">${link.label} i bokningstjänsten${
          spoken
        }</a></li>`,
    ),
    ...(actions.calendarHref
      ? [
          html`<li><a class="button secondary" href="${actions.calendarHref}" download>Lägg till i kalendern${
            spoken
          }</a></li>`,
        ]
      : []),
  ];
}

/** A booking's facts, each value once (as in the message texts: the first field that says it keeps it). */
function facts(rows: [string, string | null | undefined][]): SafeHtml {
  const seen = new Set<string>();
  const shown = rows.filter(([, value]) => {
    const key = value?.trim().toLowerCase();
    if (!key || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return html`<dl class="facts">${shown.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>`;
}

export interface UpcomingItem {
  booking: UpcomingBooking;
  actions: BookingActions;
}

function bookingItem({ booking, actions }: UpcomingItem, index: number): SafeHtml {
  const time = span(booking.start, booking.end);
  const headingId = `booking-${index}`;
  const changeHelp =
    actions.links.length > 0
      ? ''
      : html`<p class="meta">Kontakta ${careUnitName(booking.careUnit)} om du behöver ändra ${
          booking.kind === 'invitation' ? 'kallelsens tid' : 'tiden'
        }.</p>`;
  return html`<li class="booking" aria-labelledby="${headingId}">
<h3 id="${headingId}"><time datetime="${booking.start}">${time}</time></h3>
<p class="meta">${booking.kind === 'invitation' ? 'Kallelse' : 'Bokad tid'}</p>
${facts([
  [FACT_LABEL.careUnit, careUnitName(booking.careUnit)],
  [FACT_LABEL.purpose, booking.purpose],
  [FACT_LABEL.reason, booking.reason],
  [FACT_LABEL.careTypeName, booking.careTypeName],
  [FACT_LABEL.timeTypeName, booking.timeTypeName],
])}
<ul class="actions">${actionLinks(actions, time)}</ul>
${changeHelp}
</li>`;
}

export interface OverviewState {
  citizen: CitizenBanner;
  page: MessagePage;
  /** True when this is not the first page of messages. */
  olderPage: boolean;
  bookings: UpcomingItem[];
  done?: string;
}

export function overviewPage(state: OverviewState): string {
  const { page } = state;
  const unread =
    page.unreadCount === 0
      ? 'Du har inga olästa meddelanden.'
      : page.unreadCount === 1
        ? 'Du har 1 oläst meddelande.'
        : `Du har ${page.unreadCount} olästa meddelanden.`;
  return layout(
    'Inkorgen',
    html`<h1>Inkorgen</h1>
${state.done ? html`<p class="notice" role="status">${state.done}</p>` : ''}
<section aria-labelledby="messages-heading">
<h2 id="messages-heading">Meddelanden</h2>
<p>${unread}</p>
${
  page.items.length === 0
    ? html`<p>${state.olderPage ? 'Det finns inga äldre meddelanden.' : 'Du har inga meddelanden.'}</p>`
    : html`<ul class="messages">${page.items.map(messageItem)}</ul>`
}
${
  state.olderPage || page.nextCursor
    ? html`<nav aria-label="Bläddra bland meddelanden"><ul class="actions">
${state.olderPage ? html`<li><a href="/inbox">Till de senaste meddelandena</a></li>` : ''}
${page.nextCursor ? html`<li><a href="/inbox?sida=${page.nextCursor}" rel="next">Äldre meddelanden</a></li>` : ''}
</ul></nav>`
    : ''
}
</section>
<section aria-labelledby="bookings-heading">
<h2 id="bookings-heading">Kommande bokade tider</h2>
${
  state.bookings.length === 0
    ? html`<p>Du har inga kommande bokade tider som vi känner till.</p>`
    : html`<ul class="bookings">${state.bookings.map(bookingItem)}</ul>`
}
<p class="meta">Visar tider som ännu inte har passerat, högst tre år framåt. Kallelser utan bestämd tid finns bland
meddelandena.</p>
</section>
<p>Vill du få SMS eller e-post när du får ett nytt meddelande? Välj det under
<a href="/inbox/installningar">Aviseringar</a>.</p>`,
    state.citizen,
    'inbox',
  );
}

export interface MessageState {
  citizen: CitizenBanner;
  message: InboxMessage;
  actions: BookingActions;
  done?: string;
}

export function messagePage(state: MessageState): string {
  const { message } = state;
  const context = message.booking.start ? span(message.booking.start, message.booking.end) : '';
  const links = actionLinks(state.actions, context);
  return layout(
    message.subject,
    html`<p><a href="/inbox">Tillbaka till inkorgen</a></p>
${state.done ? html`<p class="notice" role="status">${state.done}</p>` : ''}
<article aria-labelledby="message-heading">
<h1 id="message-heading">${message.subject}</h1>
<p class="meta">${KIND_LABEL[message.kind] ?? message.kind} · mottaget ${timeOf(message.createdAt)}${
      message.readAt ? html` · läst ${timeOf(message.readAt)}` : ''
    }</p>
<div class="message-body">${message.body}</div>
</article>
${
  links.length > 0
    ? html`<section aria-labelledby="booking-actions-heading">
<h2 id="booking-actions-heading">${
        message.booking.categorization === 'Invitation'
          ? 'Kallelsen'
          : message.kind === 'cancellation'
            ? 'Ny tid'
            : 'Tiden'
      }</h2>
<ul class="actions">${links}</ul>
</section>`
    : ''
}
<section aria-labelledby="message-actions-heading">
<h2 id="message-actions-heading">Meddelandet</h2>
<ul class="actions">
<li><form method="post" action="/inbox/meddelanden/${message.id}/markera-olast">${csrfField(
      state.citizen.csrf,
    )}<button type="submit" class="secondary">Markera som oläst</button></form></li>
<li><a href="/inbox/meddelanden/${message.id}/ta-bort">Ta bort meddelandet</a></li>
</ul>
</section>`,
    state.citizen,
  );
}

export function confirmDeletePage(citizen: CitizenBanner, message: InboxMessage): string {
  return layout(
    'Ta bort meddelandet?',
    html`<h1>Vill du ta bort meddelandet?</h1>
<p>Du tar bort <strong>${message.subject}</strong> (mottaget ${timeOf(message.createdAt)}).
Meddelandet försvinner ur din inkorg och går inte att få tillbaka här. Din bokade tid påverkas inte.</p>
<form method="post" action="/inbox/meddelanden/${message.id}/ta-bort">
${csrfField(citizen.csrf)}
<ul class="actions">
<li><button type="submit" class="danger">Ja, ta bort meddelandet</button></li>
<li><a href="/inbox/meddelanden/${message.id}">Nej, behåll det</a></li>
</ul>
</form>`,
    citizen,
  );
}

export interface SettingsState {
  form: SettingsForm;
  problems: string[];
}

export function settingsPage(citizen: CitizenBanner, state: SettingsState, done?: string): string {
  const { form } = state;
  return layout(
    'Aviseringar',
    html`<h1>Aviseringar</h1>
${done ? html`<p class="notice" role="status">${done}</p>` : ''}
<p>Vi kan meddela dig med SMS eller e-post när du har fått ett nytt meddelande. Aviseringen säger bara att ett
meddelande väntar i inkorgen, aldrig vad det gäller. SMS skickas inte mellan 21 och 08.</p>
${problemList(state.problems)}
<form method="post" action="/inbox/installningar">
${csrfField(citizen.csrf)}
<fieldset>
<legend>SMS</legend>
<label class="check"><input type="checkbox" id="sms-enabled" name="smsEnabled" value="ja"${
      form.smsEnabled ? html` checked` : ''
    }> Meddela mig med SMS</label>
<label for="sms-phone">Mobilnummer</label>
<input type="tel" id="sms-phone" name="phone" autocomplete="tel" maxlength="32" value="${form.phone}">
</fieldset>
<fieldset>
<legend>E-post</legend>
<label class="check"><input type="checkbox" id="email-enabled" name="emailEnabled" value="ja"${
      form.emailEnabled ? html` checked` : ''
    }> Meddela mig med e-post</label>
<label for="email-address">E-postadress</label>
<input type="email" id="email-address" name="address" autocomplete="email" maxlength="254" value="${form.address}">
</fieldset>
<p><button type="submit" class="primary">Spara aviseringar</button></p>
</form>`,
    citizen,
    'settings',
  );
}

export function notFoundPage(citizen: CitizenBanner): string {
  return layout(
    'Meddelandet finns inte',
    html`<h1>Meddelandet finns inte</h1>
<p>Meddelandet finns inte i din inkorg. Det kan ha tagits bort.</p>
<p><a href="/inbox">Tillbaka till inkorgen</a></p>`,
    citizen,
  );
}

export interface SignInState {
  csrf: string;
  /** OpenID Connect is configured: the sign-in goes to the identity provider. */
  oidc: boolean;
  /** The development sign-in is offered (no OIDC configured, and not refused in production). */
  developmentSignIn: boolean;
  problems: string[];
  personalNumber?: string;
}

export function signInPage(state: SignInState): string {
  return layout(
    'Logga in',
    html`<h1>Logga in till inkorgen</h1>
${problemList(state.problems)}
${state.oidc ? html`<p><a class="button" href="/inbox/logga-in/oidc">Logga in med e-legitimation</a></p>` : ''}
${
  !state.oidc && state.developmentSignIn
    ? html`<section class="development" aria-labelledby="dev-heading">
<h2 id="dev-heading">Utvecklingsinloggning – inte för riktiga invånare</h2>
<p>Endast för utveckling och test: här loggar vem som helst in med valfritt personnummer, utan e-legitimation.
Den finns bara när ingen OpenID Connect-inloggning är konfigurerad och aldrig i produktion (om den inte uttryckligen
slagits på).</p>
<form method="post" action="/inbox/logga-in">
<input type="hidden" name="_csrf" value="${state.csrf}">
<label for="personal-number">Personnummer (12 siffror, ÅÅÅÅMMDDNNNN)</label>
<input id="personal-number" name="personalNumber" required inputmode="numeric" maxlength="13" autocomplete="off"
  value="${state.personalNumber ?? ''}">
<p><button type="submit" class="primary">Logga in</button></p>
</form>
</section>`
    : ''
}
${
  !state.oidc && !state.developmentSignIn
    ? html`<p>Inloggning är inte tillgänglig: ingen inloggningstjänst är konfigurerad.</p>`
    : ''
}`,
  );
}
