// HTML for the server-rendered pages: the `html` tag escapes every interpolated value unless it is
// itself built with `html` (or marked with `raw` for text known to be safe).
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ENTITIES[character]!);
}

type Value = SafeHtml | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map((item: Value) => render(item)).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return new SafeHtml(out);
}

/** A table's head: one column header (`<th scope="col">`) per title, in order. */
export function tableHead(...titles: string[]): SafeHtml {
  return html`<thead><tr>${titles.map((title) => html`<th scope="col">${title}</th>`)}</tr></thead>`;
}

/** A table row: one cell (`<td>`) per value, in order. */
export function tableRow(...cells: Value[]): SafeHtml {
  return html`<tr>${cells.map((cell) => html`<td>${cell}</td>`)}</tr>`;
}

/** A form of one button that posts to `action` (with the page's CSRF field, and any hidden fields). */
export function postButton(action: string, csrfField: SafeHtml, label: string, hidden: SafeHtml | '' = ''): SafeHtml {
  return html`<form class="inline" method="post" action="${action}">${csrfField}${hidden}<button type="submit">${
    label
  }</button></form>`;
}

/** Text that is already HTML (never anything from a user or producer). */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}
