// Inbox messages rendered with Handlebars from templates/messages/<kind>.hbs, one file per kind, so that
// the wording changes without touching code. A template's first line is the subject, then `---`, then
// the text. Output is plain text: producers' values are escaped where the text ends up in HTML.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { formatSwedishSpan } from '../time/index.js';
import { MESSAGE_KINDS, offeredActions } from '../inbox/index.js';
import type { BookingSnapshot, MessageKind } from './decide.js';

export const TEMPLATES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates');
export { MESSAGE_KINDS };

export interface RenderedMessage {
  subject: string;
  body: string;
}

export type MessageRenderer = (
  kind: MessageKind,
  details: BookingSnapshot,
  previous?: BookingSnapshot,
) => RenderedMessage;

export interface RenderOptions {
  /** A booking-service link is configured: the texts may point to "bokningstjänsten" (the page shows the link). */
  bookingService?: boolean;
}

const CHANGE_TEXT: Record<string, string> = {
  avboka: 'avboka',
  omboka: 'boka om',
  'avboka,omboka': 'avboka eller boka om',
};

function when(details: BookingSnapshot | undefined): string | undefined {
  if (!details?.start) return undefined;
  return formatSwedishSpan(new Date(details.start), details.end ? new Date(details.end) : undefined);
}

/**
 * The descriptive facts, each value once: producers often repeat one word in several fields (purpose
 * "Provtagning", care type "Provtagning"); the first field that says it keeps it.
 */
export function distinctFacts(
  details: Pick<
    BookingSnapshot,
    'purpose' | 'reason' | 'careTypeName' | 'timeTypeName' | 'performerName' | 'resourceName'
  >,
) {
  const seen = new Set<string>();
  const once = (value: string | undefined) => {
    const key = value?.trim().toLowerCase();
    if (!key || seen.has(key)) return undefined;
    seen.add(key);
    return value;
  };
  return {
    purpose: once(details.purpose),
    reason: once(details.reason),
    careTypeName: once(details.careTypeName),
    timeTypeName: once(details.timeTypeName),
    performerName: once(details.performerName),
    resourceName: once(details.resourceName),
  };
}

/** What the templates see: display-ready values in the domain's words. */
export function templateContext(
  details: BookingSnapshot,
  previous?: BookingSnapshot,
  options: RenderOptions = {},
): Record<string, unknown> {
  const cancelAllowed = details.cancelBookingAllowed === true;
  const rebookAllowed = details.rebookingAllowed === true;
  const changeable = offeredActions({
    careUnit: details.healthcareFacility,
    bookingId: null,
    state: 'upcoming',
    cancelAllowed,
    rebookAllowed,
  });
  return {
    bookingService: options.bookingService === true,
    changeText: CHANGE_TEXT[changeable.join(',')],
    newTimeOnline:
      offeredActions({
        careUnit: details.healthcareFacility,
        bookingId: null,
        state: 'cancelled',
        cancelAllowed,
        rebookAllowed,
      }).length > 0,
    ...distinctFacts(details),
    careUnit: details.healthcareFacilityName ?? 'mottagningen',
    when: when(details),
    previousWhen: when(previous),
    previousCareUnit:
      previous && previous.healthcareFacility !== details.healthcareFacility
        ? previous.healthcareFacilityName
        : undefined,
  };
}

export function loadMessageRenderer(
  templatesDir: string = TEMPLATES_DIR,
  options: RenderOptions = {},
): MessageRenderer {
  // Text output: no HTML escaping here (the page escapes), and no prototype access from templates.
  const handlebars = Handlebars.create();
  const partialsDir = path.join(templatesDir, 'partials');
  for (const file of fs.readdirSync(partialsDir)) {
    if (file.endsWith('.hbs'))
      handlebars.registerPartial(path.basename(file, '.hbs'), fs.readFileSync(path.join(partialsDir, file), 'utf8'));
  }
  const compiled = new Map<MessageKind, HandlebarsTemplateDelegate>();
  for (const kind of MESSAGE_KINDS) {
    const source = fs.readFileSync(path.join(templatesDir, 'messages', `${kind}.hbs`), 'utf8');
    compiled.set(kind, handlebars.compile(source, { noEscape: true, strict: false }));
  }
  return (kind, details, previous) => {
    const template = compiled.get(kind);
    if (!template) throw new Error(`no template for message kind ${kind}`);
    const text = template(templateContext(details, previous, options));
    const divider = text.indexOf('\n---\n');
    if (divider < 0) throw new Error(`template ${kind}.hbs must hold a subject line, then ---, then the text`);
    return {
      subject: text.slice(0, divider).trim(),
      body: text
        .slice(divider + 5)
        .replace(/\n{3,}/g, '\n\n')
        .trim(),
    };
  };
}
