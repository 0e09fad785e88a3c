// The citizen's pages, in Swedish: the inbox (messages with unread marks, upcoming bookings, notification
// settings), one message with its booking, and the sign-in. Plain semantic HTML: links and forms only,
// no JavaScript; every producer value is escaped by the `html` tag.
import type { CitizenSettings } from '../../channels/settings.js';
import { html, type SafeHtml } from '../../web/html.js';
import type { UpcomingBooking } from '../bookings.js';
import type { MessageKind } from '../decide.js';
import type { InboxMessage, MessagePage } from '../inbox-store.js';
import { layout, personalNumberText, problemList, span, when } from './layout.js';

export const KIND_LABEL: Record<MessageKind, string> = {
  invitation: 'Kallelse',
  booking_confirmation: 'Bokningsbekräftelse',
  cancellation: 'Avbokning',
  rebooking: 'Ombokning',
  invitation_updated: 'Ändrad kallelse',
};

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

function siteHeader(personalNumber: string, csrf: string): SafeHtml {
  return html`<header class="site">
<p><a href="/inbox"><strong>1177 Inkorgen</strong></a></p>
<form class="inline" method="post" action="/inbox/logga-ut">${csrfField(csrf)}Inloggad som ${personalNumberText(personalNumber)}
<button type="submit">Logga ut</button></form>
</header>`;
}

function messageItem(message: InboxMessage): SafeHtml {
  const unread = message.readAt === null;
  return html`<li${unread ? html` class="unread"` : ''}>
<a href="/inbox/meddelanden/${message.id}">${unread ? html`<span class="mark">Oläst</span>` : ''}<span class="subject">${message.subject}</span></a>
<div class="meta">${KIND_LABEL[message.kind] ?? message.kind} · ${message.careUnit.name ?? message.careUnit.hsaId} · <time datetime="${message.createdAt}">${when(message.createdAt)}</time></div>
</li>`;
}

function bookingRow(booking: UpcomingBooking): SafeHtml {
  const can = [booking.cancelAllowed ? 'avboka' : '', booking.rebookAllowed ? 'omboka' : ''].filter(Boolean).join(' eller ');
  return html`<tr>
<td><time datetime="${booking.start}">${span(booking.start, booking.end)}</time></td>
<td>${booking.kind === 'invitation' ? 'Kallelse' : 'Bokad tid'}</td>
<td>${booking.careUnit.name ?? booking.careUnit.hsaId}</td>
<td>${[booking.careTypeName, booking.timeTypeName].filter(Boolean).join(', ')}</td>
<td>${can === '' ? 'Kontakta mottagningen för att ändra' : `Du kan ${can} tiden`}</td>
</tr>`;
}

export interface SettingsState {
  form: SettingsForm;
  problems: string[];
}

function settingsSection(csrf: string, state: SettingsState): SafeHtml {
  const { form } = state;
  return html`<section aria-labelledby="settings-heading">
<h2 id="settings-heading">Aviseringar</h2>
<p>Vi kan meddela dig med SMS eller e-post när du har fått ett nytt meddelande. Aviseringen säger bara att ett
meddelande väntar i inkorgen, aldrig vad det gäller. SMS skickas inte mellan 21 och 08.</p>
${problemList(state.problems)}
<form method="post" action="/inbox/installningar">
${csrfField(csrf)}
<fieldset>
<legend>SMS</legend>
<label class="check"><input type="checkbox" id="sms-enabled" name="smsEnabled" value="ja"${form.smsEnabled ? html` checked` : ''}> Meddela mig med SMS</label>
<label for="sms-phone">Mobilnummer</label>
<input type="tel" id="sms-phone" name="phone" autocomplete="tel" maxlength="32" value="${form.phone}">
</fieldset>
<fieldset>
<legend>E-post</legend>
<label class="check"><input type="checkbox" id="email-enabled" name="emailEnabled" value="ja"${form.emailEnabled ? html` checked` : ''}> Meddela mig med e-post</label>
<label for="email-address">E-postadress</label>
<input type="email" id="email-address" name="address" autocomplete="email" maxlength="254" value="${form.address}">
</fieldset>
<p><button type="submit">Spara aviseringar</button></p>
</form>
</section>`;
}

export interface OverviewState {
  personalNumber: string;
  csrf: string;
  page: MessagePage;
  /** True when this is not the first page of messages. */
  olderPage: boolean;
  bookings: UpcomingBooking[];
  settings: SettingsState;
  done?: string;
}

export function overviewPage(state: OverviewState): string {
  const { page } = state;
  const unread =
    page.unreadCount === 0 ? 'Du har inga olästa meddelanden.' : page.unreadCount === 1 ? 'Du har 1 oläst meddelande.' : `Du har ${page.unreadCount} olästa meddelanden.`;
  return layout(
    'Inkorgen',
    html`${siteHeader(state.personalNumber, state.csrf)}
<main>
<h1>Inkorgen</h1>
${state.done ? html`<p class="notice" role="status">${state.done}</p>` : ''}
<section aria-labelledby="messages-heading">
<h2 id="messages-heading">Meddelanden</h2>
<p>${unread}</p>
${page.items.length === 0
  ? html`<p>${state.olderPage ? 'Det finns inga äldre meddelanden.' : 'Du har inga meddelanden.'}</p>`
  : html`<ul class="messages">${page.items.map(messageItem)}</ul>`}
<nav aria-label="Bläddra bland meddelanden">
${state.olderPage ? html`<a href="/inbox">Till de senaste meddelandena</a> ` : ''}
${page.nextCursor ? html`<a href="/inbox?sida=${page.nextCursor}" rel="next">Äldre meddelanden</a>` : ''}
</nav>
</section>
<section aria-labelledby="bookings-heading">
<h2 id="bookings-heading">Kommande bokade tider</h2>
${state.bookings.length === 0
  ? html`<p>Du har inga kommande bokade tider som vi känner till.</p>`
  : html`<table>
<thead><tr><th scope="col">Tid</th><th scope="col">Typ</th><th scope="col">Mottagning</th><th scope="col">Vad</th><th scope="col">Ändra</th></tr></thead>
<tbody>${state.bookings.map(bookingRow)}</tbody>
</table>`}
<p class="meta">Visar tider som ännu inte har passerat, högst tre år framåt. Kallelser utan bestämd tid finns bland meddelandena.</p>
</section>
${settingsSection(state.csrf, state.settings)}
</main>`,
  );
}

/** Whether the booking of this message is still a time the citizen can act on. */
function actionable(message: InboxMessage, now: Date): boolean {
  if (message.kind === 'cancellation') return false;
  const start = message.booking.start ? new Date(message.booking.start) : undefined;
  return start === undefined || start.getTime() > now.getTime();
}

function bookingDetails(message: InboxMessage, now: Date): SafeHtml {
  const b = message.booking;
  const rows: [string, string | SafeHtml][] = [];
  if (b.start) rows.push([message.kind === 'cancellation' ? 'Avbokad tid' : 'Tid', span(b.start, b.end)]);
  else rows.push(['Tid', 'Ingen bestämd tid']);
  if (b.previousStart) rows.push(['Tidigare tid', span(b.previousStart, b.previousEnd)]);
  rows.push(['Mottagning', message.careUnit.name ?? message.careUnit.hsaId]);
  if (b.careTypeName) rows.push(['Vårdtyp', b.careTypeName]);
  if (b.timeTypeName) rows.push(['Besökstyp', b.timeTypeName]);
  if (b.performerName) rows.push(['Vårdpersonal', b.performerName]);
  if (b.resourceName) rows.push(['Resurs', b.resourceName]);
  const allowed: string[] = [];
  if (actionable(message, now)) {
    if (b.cancelAllowed) allowed.push('Mottagningen tillåter att du avbokar tiden.');
    if (b.rebookAllowed) allowed.push('Mottagningen tillåter att du bokar om tiden.');
    if (allowed.length === 0) allowed.push('Tiden kan inte av- eller ombokas här. Kontakta mottagningen om du behöver ändra den.');
  }
  return html`<section aria-labelledby="booking-heading">
<h2 id="booking-heading">${b.categorization === 'Invitation' ? 'Kallelsen' : 'Bokningen'}</h2>
<dl class="booking">${rows.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>
${allowed.length > 0 ? html`<ul class="actions">${allowed.map((text) => html`<li>${text}</li>`)}</ul>` : ''}
</section>`;
}

export function messagePage(personalNumber: string, csrf: string, message: InboxMessage, now: Date): string {
  return layout(
    message.subject,
    html`${siteHeader(personalNumber, csrf)}
<main>
<p><a href="/inbox">Tillbaka till inkorgen</a></p>
<article>
<h1>${message.subject}</h1>
<p class="meta">${KIND_LABEL[message.kind] ?? message.kind} från ${message.careUnit.name ?? message.careUnit.hsaId} ·
mottaget <time datetime="${message.createdAt}">${when(message.createdAt)}</time>${message.readAt ? html` · läst <time datetime="${message.readAt}">${when(message.readAt)}</time>` : ''}</p>
<div class="message-body">${message.body}</div>
${bookingDetails(message, now)}
</article>
<form method="post" action="/inbox/meddelanden/${message.id}/ta-bort">
${csrfField(csrf)}
<p><button type="submit">Ta bort meddelandet</button></p>
</form>
</main>`,
  );
}

export function notFoundPage(personalNumber: string, csrf: string): string {
  return layout(
    'Meddelandet finns inte',
    html`${siteHeader(personalNumber, csrf)}
<main>
<h1>Meddelandet finns inte</h1>
<p>Meddelandet finns inte i din inkorg. Det kan ha tagits bort.</p>
<p><a href="/inbox">Tillbaka till inkorgen</a></p>
</main>`,
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
    html`<main>
<h1>Logga in till inkorgen</h1>
${problemList(state.problems)}
${state.oidc ? html`<p><a href="/inbox/logga-in/oidc">Logga in med e-legitimation</a></p>` : ''}
${!state.oidc && state.developmentSignIn
  ? html`<section class="development" aria-labelledby="dev-heading">
<h2 id="dev-heading">Utvecklingsinloggning – inte för riktiga invånare</h2>
<p>Endast för utveckling och test: här loggar vem som helst in med valfritt personnummer, utan e-legitimation.
Den finns bara när ingen OpenID Connect-inloggning är konfigurerad och aldrig i produktion (om den inte uttryckligen slagits på).</p>
<form method="post" action="/inbox/logga-in">
<input type="hidden" name="_csrf" value="${state.csrf}">
<label for="personal-number">Personnummer (12 siffror, ÅÅÅÅMMDDNNNN)</label>
<input id="personal-number" name="personalNumber" required inputmode="numeric" maxlength="13" autocomplete="off" value="${state.personalNumber ?? ''}">
<p><button type="submit">Logga in</button></p>
</form>
</section>`
  : ''}
${!state.oidc && !state.developmentSignIn ? html`<p>Inloggning är inte tillgänglig: ingen inloggningstjänst är konfigurerad.</p>` : ''}
</main>`,
  );
}
