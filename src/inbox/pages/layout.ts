// The frame of the citizen's pages and the small formatting helpers they share. Every value from a
// producer or a citizen goes through the `html` tag, which escapes it.
import { html, type SafeHtml } from '../../web/index.js';
import { pageFrame } from '../../web/index.js';
import { formatSwedishDateTime, formatSwedishSpan } from '../../time/index.js';

/** Who is signed in, as the banner names them: never the full personal identity number. */
export interface CitizenBanner {
  personalNumber: string;
  name?: string | undefined;
  csrf: string;
}

export type CitizenSection = 'inbox' | 'settings' | undefined;

// The inbox's own parts, after the shared frame's rules.
const INBOX_STYLE = `
ul.messages, ul.bookings { list-style: none; padding: 0; margin: .5rem 0; }
ul.messages li { border-bottom: 1px solid #c8c8c8; padding: .6rem .4rem; }
ul.messages li.unread { border-left: .3rem solid #14487f; padding-left: .6rem; background: #eef3fa; }
ul.messages li.unread .subject { font-weight: bold; }
.mark { display: inline-block; font-size: .8rem; font-weight: bold; background: #14487f; color: #fff;
  border-radius: .3rem; padding: 0 .4rem; margin-right: .2rem; }
ul.bookings li.booking { border: 1px solid #c8c8c8; border-left: .3rem solid #1a7f37; border-radius: .3rem;
  padding: .7rem .9rem; margin-bottom: .8rem; }
@media (min-width: 48rem) {
  ul.bookings { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .8rem; }
  ul.bookings li.booking { margin: 0; }
}
.message-body { white-space: pre-line; border: 1px solid #c8c8c8; border-radius: .3rem; padding: 1rem;
  background: #fafafa; }
`;

/** A citizen's page in the service's frame; without `citizen` (signed out) the banner has no account. */
export function layout(title: string, body: SafeHtml, citizen?: CitizenBanner, section?: CitizenSection): string {
  const csrf = citizen && html`<input type="hidden" name="_csrf" value="${citizen.csrf}">`;
  const name = citizen && citizenName(citizen);
  return pageFrame(
    {
      title,
      service: 'Inkorgen',
      home: '/inbox',
      ...(citizen && {
        account: html`<form class="account" method="post" action="/inbox/logga-ut">${csrf}<span>Inloggad som <strong>${
          name
        }</strong></span> <button type="submit">Logga ut</button></form>`,
        navigation: {
          label: 'Inkorgen',
          links: [
            { href: '/inbox', text: 'Meddelanden och tider', current: section === 'inbox' },
            { href: '/inbox/installningar', text: 'Aviseringar', current: section === 'settings' },
          ],
        },
      }),
      main: body,
    },
    INBOX_STYLE,
  );
}

/** The name from the sign-in, otherwise the number with its last four digits hidden: 19121212-XXXX. */
export function citizenName(citizen: Pick<CitizenBanner, 'personalNumber' | 'name'>): string {
  return citizen.name ?? maskedPersonalNumber(citizen.personalNumber);
}

export function maskedPersonalNumber(personalNumber: string): string {
  return `${personalNumber.slice(0, 8)}-XXXX`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const instant = new Date(iso);
  return Number.isNaN(instant.getTime()) ? '' : formatSwedishDateTime(instant);
}

export function span(start: string | null | undefined, end: string | null | undefined): string {
  if (!start) return '';
  const from = new Date(start);
  if (Number.isNaN(from.getTime())) return '';
  const to = end ? new Date(end) : undefined;
  return formatSwedishSpan(from, to && !Number.isNaN(to.getTime()) ? to : undefined);
}

/** 191212121212 -> 19121212-1212, as Swedes write it. */
export function personalNumberText(personalNumber: string): string {
  return `${personalNumber.slice(0, 8)}-${personalNumber.slice(8)}`;
}

export function problemList(problems: readonly string[]): SafeHtml {
  if (problems.length === 0) return html``;
  const items = problems.map((p) => html`<li>${p}</li>`);
  return html`<div class="problem" role="alert"><h2>Något behöver rättas</h2><ul>${items}</ul></div>`;
}
