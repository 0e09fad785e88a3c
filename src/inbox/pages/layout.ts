// The frame of the citizen's pages and the small formatting helpers they share. Every value from a
// producer or a citizen goes through the `html` tag, which escapes it.
import { html, type SafeHtml } from '../../web/html.js';
import { formatSwedishDateTime, formatSwedishSpan } from '../../time/swedish-format.js';

export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} – 1177 Inkorgen</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; line-height: 1.5; color: #1b1b1b; }
  a { color: #1f4f9c; } a:focus, button:focus, input:focus { outline: 3px solid #f0b400; outline-offset: 2px; }
  header.site { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: .5rem; border-bottom: 1px solid #ccc; }
  ul.messages { list-style: none; padding: 0; }
  ul.messages li { border-bottom: 1px solid #ddd; padding: .6rem .3rem; }
  ul.messages li.unread { border-left: .3rem solid #1f4f9c; padding-left: .6rem; background: #f1f5fc; }
  ul.messages li.unread .subject { font-weight: bold; }
  .mark { display: inline-block; font-size: .8rem; font-weight: bold; background: #1f4f9c; color: #fff; border-radius: .3rem; padding: 0 .4rem; margin-right: .4rem; }
  .meta { color: #555; font-size: .9rem; }
  .message-body { white-space: pre-line; border: 1px solid #ddd; padding: 1rem; background: #fafafa; }
  table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid #ccc; padding: .4rem; text-align: left; vertical-align: top; }
  dl.booking { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dl.booking dt { font-weight: bold; } dl.booking dd { margin: 0; }
  .notice { border-left: .3rem solid #1a7f37; padding: .5rem 1rem; background: #eef8f0; }
  .problem { border-left: .3rem solid #b3261e; padding: .5rem 1rem; background: #fdecea; }
  .development { border: 2px dashed #b36b00; padding: .5rem 1rem; background: #fff6e5; }
  fieldset { margin-bottom: 1rem; } label { display: block; margin-top: .4rem; } label.check { display: flex; gap: .4rem; align-items: center; }
  form.inline { display: inline; }
</style>
</head>
<body>
${body}
</body>
</html>`.value;
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
  return html`<div class="problem" role="alert"><h2>Något behöver rättas</h2><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`;
}
