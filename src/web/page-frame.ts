// The frame every page of the service shares (/inbox, the information pages and /admin): a skip link,
// a banner with the service's name and who is signed in, the main content, and a footer with help,
// contact and the accessibility statement, all inside landmarks. One stylesheet for all of them, so
// the pages look like one service and reflow to 320 CSS pixels without horizontal scrolling (WCAG
// 1.4.10); focus is shown with a ring of at least 3:1 against what surrounds it (WCAG 1.4.11).
import { html, type SafeHtml } from './html.js';

export interface PageFrame {
  title: string;
  /** The service's name in the banner, e.g. "Inkorgen" or "Administration". */
  service: string;
  /** Where the service's name links to. */
  home: string;
  /** Right-hand side of the banner: who is signed in, sign-out. */
  account?: SafeHtml;
  /** The service's own navigation (a `<nav>` is made around it). */
  navigation?: { label: string; links: { href: string; text: string; current?: boolean }[] };
  main: SafeHtml;
  /** Wider content area (the administrators' tables). */
  wide?: boolean;
}

export const HELP_PATH = '/hjalp';
export const ACCESSIBILITY_PATH = '/tillganglighet';

// Colours: text #1b1b1b and links #14487f on white are above 7:1; the focus ring #14487f on white 8.6:1,
// #ffd24d on the banner's #13365f 8.9:1.
const STYLE = `
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
  line-height: 1.5; color: #1b1b1b; background: #f4f5f7; overflow-wrap: anywhere; }
a { color: #14487f; text-underline-offset: .15em; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid #14487f; outline-offset: 2px; }
a:focus, button:focus, input:focus, select:focus, summary:focus, [tabindex]:focus { outline: 3px solid #14487f;
  outline-offset: 2px; }
/* Date and time fields take focus in their parts: the ring goes round the whole field. */
input:focus-within { outline: 3px solid #14487f; outline-offset: 2px; }
.skip-link { position: absolute; left: .5rem; top: -10rem; z-index: 10; background: #fff; color: #14487f;
  padding: .6rem 1rem; border: 3px solid #14487f; font-weight: bold; }
.skip-link:focus { top: .5rem; }
.site-header { background: #13365f; color: #fff; }
.site-header .bar, .site-header nav ul, .page, .site-footer .inner { max-width: 62rem; margin: 0 auto;
  padding-left: 1rem; padding-right: 1rem; }
.page.wide, .wide .bar, .wide nav ul, .wide .inner { max-width: 80rem; }
.site-header .bar { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center;
  gap: .5rem 1rem; padding-top: .6rem; padding-bottom: .6rem; }
.site-header a, .site-header .account { color: #fff; }
.site-header a:focus, .site-header button:focus, .site-header :focus-visible { outline-color: #ffd24d; }
.brand { font-size: 1.25rem; font-weight: bold; text-decoration: none; }
.brand .mark177 { background: #fff; color: #13365f; border-radius: .3rem; padding: 0 .35rem; margin-right: .35rem; }
.account { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .8rem; margin: 0; }
.account button { background: transparent; color: #fff; border: 2px solid #fff; border-radius: .3rem;
  padding: .2rem .7rem; font: inherit; cursor: pointer; }
.site-header nav { background: #0f2b4c; }
.site-header nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0 1.2rem; margin: 0 auto;
  padding-top: .4rem; padding-bottom: .4rem; }
.site-header nav a[aria-current="page"] { font-weight: bold; text-decoration-thickness: 3px; }
.page { padding-top: 1rem; padding-bottom: 2rem; background: #fff; min-height: 50vh; }
main:focus { outline: none; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: .5rem 0 1rem; }
h2 { font-size: 1.3rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 0 0 .3rem; }
.site-footer { background: #13365f; color: #fff; padding: 1rem 0 1.5rem; }
.site-footer a { color: #fff; }
.site-footer a:focus, .site-footer :focus-visible { outline-color: #ffd24d; }
.site-footer ul { list-style: none; padding: 0; margin: 0 0 .5rem; display: flex; flex-wrap: wrap; gap: .3rem 1.5rem; }
.site-footer p { margin: .3rem 0; }
button, .button { font: inherit; }
.button, button.primary { display: inline-block; background: #14487f; color: #fff; border: 2px solid #14487f;
  border-radius: .3rem; padding: .35rem .9rem; text-decoration: none; cursor: pointer; }
button.secondary, .button.secondary { background: #fff; color: #14487f; border: 2px solid #14487f;
  border-radius: .3rem; padding: .35rem .9rem; cursor: pointer; }
button.danger { background: #a4231b; color: #fff; border: 2px solid #a4231b; border-radius: .3rem;
  padding: .35rem .9rem; cursor: pointer; }
input, select { font: inherit; max-width: 100%; padding: .3rem .4rem; border: 1px solid #6b6b6b; border-radius: .2rem; }
input[type="tel"], input[type="email"], input[type="text"], input:not([type]) { width: 24rem; }
input[type="checkbox"] { width: 1.2rem; height: 1.2rem; }
fieldset { margin: 0 0 1rem; border: 1px solid #c8c8c8; min-width: 0; }
label { display: block; margin-top: .4rem; }
form.inline { display: inline-flex; flex-wrap: wrap; gap: .3rem; align-items: center; margin: 0 .3rem .3rem 0; }
label.check { display: flex; gap: .5rem; align-items: center; }
.notice { border-left: .3rem solid #1a7f37; padding: .5rem 1rem; background: #eef8f0; }
.problem { border-left: .3rem solid #b3261e; padding: .5rem 1rem; background: #fdecea; }
.development { border: 2px dashed #8a5300; padding: .5rem 1rem; background: #fff6e5; }
.meta { color: #4a4a4a; font-size: .95rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
ul.plain { list-style: none; padding: 0; }
ul.actions { list-style: none; padding: 0; margin: .5rem 0; display: flex; flex-wrap: wrap; gap: .5rem .8rem;
  align-items: center; }
ul.actions form { margin: 0; }
dl.facts { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr); gap: .15rem 1rem;
  margin: .3rem 0; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
@media (max-width: 30rem) {
  dl.facts { grid-template-columns: minmax(0, 1fr); gap: 0; }
  dl.facts dd { margin-bottom: .3rem; }
  h1 { font-size: 1.5rem; }
  .site-header .bar, .site-header nav ul, .page, .site-footer .inner { padding-left: .75rem; padding-right: .75rem; }
}
.table-scroll { overflow-x: auto; max-width: 100%; margin-bottom: 1.5rem; }
/* Inside a scrolling region words keep whole: the table grows and scrolls, the page does not. */
.table-scroll table { overflow-wrap: normal; }
.table-scroll th, .table-scroll td { min-width: 6rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #c8c8c8; padding: .4rem; text-align: left; vertical-align: top; }
`;

/** The page's stylesheet, for pages that add their own rules after it. */
export const FRAME_STYLE = STYLE;

export function pageFrame(frame: PageFrame, extraStyle = ''): string {
  const nav = frame.navigation;
  return html`<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} – 1177 ${frame.service}</title>
<style>${STYLE}${extraStyle}</style>
</head>
<body${frame.wide ? html` class="wide"` : ''}>
<a class="skip-link" href="#innehall">Hoppa till innehållet</a>
<header class="site-header">
<div class="bar">
<a class="brand" href="${frame.home}"><span class="mark177">1177</span>${frame.service}</a>
${frame.account ?? ''}
</div>
${
  nav
    ? html`<nav aria-label="${nav.label}"><ul>${nav.links.map(
        (link) =>
          html`<li><a href="${link.href}"${link.current ? html` aria-current="page"` : ''}>${link.text}</a></li>`,
      )}</ul></nav>`
    : ''
}
</header>
<main id="innehall" tabindex="-1" class="page${frame.wide ? ' wide' : ''}">
${frame.main}
</main>
<footer class="site-footer">
<div class="inner">
<nav aria-label="Om tjänsten"><ul>
<li><a href="${HELP_PATH}">Hjälp och kontakt</a></li>
<li><a href="${ACCESSIBILITY_PATH}">Tillgänglighetsredogörelse</a></li>
<li><a href="${HELP_PATH}#personuppgifter">Personuppgifter</a></li>
</ul></nav>
<p>Inkorgen är en del av 1177. Vid sjukdom eller frågor om vård: ring <a href="tel:1177">1177</a>. Vid livshotande
tillstånd: ring <a href="tel:112">112</a>.</p>
</div>
</footer>
</body>
</html>`.value;
}
