// The Swedish start page at `/` and the Swedish 404 page for unknown page paths. Plain server-rendered
// HTML without scripts, under the same strict Content-Security-Policy as the other pages. /api keeps its
// JSON 404 (mounted before this one in src/app.ts).
import type { Express, RequestHandler, Response } from 'express';
import { html, type SafeHtml } from './html.js';
import { pageFrame } from './page-frame.js';

const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

// In the service's shared frame (skip link, banner, main, footer with help and the accessibility statement).
const CHOICES_STYLE = `
ul.choices { list-style: none; padding: 0; } ul.choices li { margin: .8rem 0; }
ul.choices a { font-size: 1.2rem; font-weight: bold; }
`;

function page(title: string, body: SafeHtml): string {
  return pageFrame({ title, service: 'Inkorgen', home: '/', main: body }, CHOICES_STYLE);
}

function send(res: Response, status: number, body: string): void {
  res
    .status(status)
    .set('Content-Security-Policy', PAGE_CSP)
    .set('X-Content-Type-Options', 'nosniff')
    .type('html')
    .send(body);
}

export interface StartPageOptions {
  /** Shown as a marked note: the built-in demonstration is running (DEMO=true). */
  demo: boolean;
}

export function startPage(options: StartPageOptions): string {
  return page(
    'Start',
    html`<h1>1177 Inkorgen</h1>
<p>Här hamnar kallelser, bokningsbekräftelser, avbokningar och ombokningar från vårdens bokningssystem.</p>
<ul class="choices">
  <li><a href="/inbox">Till inkorgen</a> – för invånare: läs dina meddelanden och se dina kommande besök.</li>
  <li><a href="/admin">Till administrationen</a> – för nationella administratörer: aktivera bokningssystem.</li>
</ul>
${
  options.demo
    ? html`<section class="development" aria-labelledby="demo-heading">
<h2 id="demo-heading">Demonstrationsläge</h2>
<p>Tjänsten kör med ett inbyggt demo-bokningssystem och fiktiva data. Logga in på administrationen och välj
<strong>Skicka demoaviseringar</strong>, och läs sedan testpersonen 19121212-1212:s meddelanden i inkorgen.
Inte för riktiga invånare.</p>
</section>`
    : ''
}`,
  );
}

export function notFoundPage(): string {
  return page(
    'Sidan finns inte',
    html`<h1>Sidan finns inte</h1>
<p>Vi hittar inte sidan du söker. Kontrollera adressen, eller gå vidare härifrån:</p>
<ul class="choices">
  <li><a href="/">Startsidan</a></li>
  <li><a href="/inbox">Inkorgen</a></li>
</ul>`,
  );
}

/** GET `/`: the start page. */
export function mountStartPage(app: Express, options: StartPageOptions): void {
  const body = startPage(options);
  app.get('/', (_req, res) => send(res, 200, body));
}

/** Last handler: any page path nobody answered. Nothing of the request is echoed. */
export const swedishNotFound: RequestHandler = (_req, res) => {
  send(res, 404, notFoundPage());
};
