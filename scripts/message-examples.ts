// Rendered examples of every message kind, with and without a booking-service link, for docs/MESSAGES.md.
// `npm run docs:messages` writes the file; test/inbox/message-texts.test.ts renders the same examples,
// checks that the file is up to date and that no text offers an action the service does not have.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bookingLinks, type BookingLink, type BookingLinkSubject } from '../src/inbox/booking-service.js';
import type { BookingSnapshot, MessageKind } from '../src/message-engine/decide.js';
import { loadMessageRenderer, type RenderedMessage } from '../src/message-engine/render-message.js';

export const EXAMPLE_TEMPLATE = 'https://bokning.example.se/{careUnit}/{bookingId}?atgard={action}';

export interface MessageExample {
  title: string;
  kind: MessageKind;
  details: BookingSnapshot;
  previous?: BookingSnapshot;
}

const UNIT = 'SE2321000016-ABCD';
const base: BookingSnapshot = {
  healthcareFacility: UNIT,
  healthcareFacilityName: 'Vårdcentralen Åby',
  bookingId: 'BK-1001',
  start: '2027-03-30T07:30:00.000Z',
  end: '2027-03-30T07:50:00.000Z',
};

export const EXAMPLES: readonly MessageExample[] = [
  {
    title: 'Kallelse med tid, syfte och anledning; mottagningen tillåter avbokning och ombokning',
    kind: 'invitation',
    details: {
      ...base,
      purpose: 'Vaccination',
      reason: '4-årskontroll',
      careTypeName: 'Sjuksköterskebesök',
      timeTypeName: 'Mottagningsbesök',
      cancelBookingAllowed: true,
      rebookingAllowed: true,
    },
  },
  {
    title: 'Kallelse utan bestämd tid',
    kind: 'invitation',
    details: {
      healthcareFacility: UNIT,
      healthcareFacilityName: 'BVC Åby',
      bookingId: 'INV-77',
      purpose: 'Hälsobesök',
      reason: '18-månaderskontroll',
    },
  },
  {
    title: 'Bokningsbekräftelse; mottagningen tillåter bara avbokning',
    kind: 'booking_confirmation',
    details: {
      ...base,
      purpose: 'Provtagning',
      careTypeName: 'Provtagning',
      timeTypeName: 'Mottagningsbesök',
      performerName: 'Sjuksköterska Berg',
      cancelBookingAllowed: true,
      rebookingAllowed: false,
    },
  },
  {
    title: 'Bokningsbekräftelse; tiden kan inte ändras på webben',
    kind: 'booking_confirmation',
    details: { ...base, careTypeName: 'Läkarbesök', timeTypeName: 'Videobesök', resourceName: 'Rum 3' },
  },
  {
    title: 'Ombokning till en annan mottagning; mottagningen tillåter ombokning',
    kind: 'rebooking',
    details: {
      ...base,
      healthcareFacility: 'SE2321000016-EFGH',
      healthcareFacilityName: 'Vårdcentralen Berga',
      start: '2027-04-02T12:00:00.000Z',
      end: '2027-04-02T12:30:00.000Z',
      purpose: 'Uppföljning',
      rebookingAllowed: true,
    },
    previous: { ...base },
  },
  {
    title: 'Ändrad kallelse: en öppen kallelse har fått en tid',
    kind: 'invitation_updated',
    details: {
      ...base,
      bookingId: 'INV-77',
      purpose: 'Hälsobesök',
      reason: '18-månaderskontroll',
      cancelBookingAllowed: true,
      rebookingAllowed: true,
    },
    previous: { healthcareFacility: UNIT, healthcareFacilityName: 'Vårdcentralen Åby', bookingId: 'INV-77' },
  },
  {
    title: 'Avbokning av en tid som gick att ändra på webben',
    kind: 'cancellation',
    details: {
      ...base,
      purpose: 'Vaccination',
      reason: '4-årskontroll',
      cancelBookingAllowed: true,
      rebookingAllowed: true,
    },
  },
  {
    title: 'Avbokning av en tid som inte gick att ändra på webben',
    kind: 'cancellation',
    details: { ...base, careTypeName: 'Läkarbesök' },
  },
];

/** The state the message page gives the booking-service links for a fresh message of this example. */
export function linkSubject(example: MessageExample): BookingLinkSubject {
  const d = example.details;
  return {
    careUnit: d.healthcareFacility,
    bookingId: d.bookingId ?? null,
    state: example.kind === 'cancellation' ? 'cancelled' : d.start ? 'upcoming' : 'open',
    cancelAllowed: d.cancelBookingAllowed === true,
    rebookAllowed: d.rebookingAllowed === true,
  };
}

export interface RenderedExample {
  example: MessageExample;
  withService: boolean;
  message: RenderedMessage;
  links: BookingLink[];
  /** The page offers "Lägg till i kalendern" (an upcoming time). */
  calendar: boolean;
}

export function renderExamples(): RenderedExample[] {
  const renderers = { false: loadMessageRenderer(), true: loadMessageRenderer(undefined, { bookingService: true }) };
  return EXAMPLES.flatMap((example) =>
    [true, false].map((withService) => ({
      example,
      withService,
      message: renderers[String(withService) as 'true' | 'false'](example.kind, example.details, example.previous),
      links: bookingLinks(withService ? EXAMPLE_TEMPLATE : undefined, linkSubject(example)),
      calendar: linkSubject(example).state === 'upcoming',
    })),
  );
}

export function examplesMarkdown(): string {
  const out: string[] = [
    '# Inbox messages: rendered examples',
    '',
    'Generated by `npm run docs:messages` from `templates/messages/` (do not edit by hand; a test checks that it',
    'is up to date). Each example is shown as the citizen gets it with a booking-service link configured',
    `(\`BOOKING_SERVICE_URL=${EXAMPLE_TEMPLATE}\`) and without one. Below each text: what the message page offers`,
    'besides the text. Times are Swedish local time; the inbox shows the text as plain text.',
    '',
    'Rules the texts follow: they promise nothing the service cannot do (the inbox itself cannot cancel, rebook or',
    'book); the booking service is named only when its link is configured, and only for what the care unit allows',
    '(`cancel_booking_allowed`, `rebooking_allowed`); every "contact the care unit" says how; each fact is said once,',
    'with the same labels as the pages; a blank line comes before the lines that say what to do.',
  ];
  for (const rendered of renderExamples()) {
    if (rendered.withService) out.push('', `## ${rendered.example.title} (\`${rendered.example.kind}\`)`);
    out.push('', `### ${rendered.withService ? 'With a booking-service link' : 'Without a booking-service link'}`, '');
    out.push('```text', `Ämne: ${rendered.message.subject}`, '', rendered.message.body, '```', '');
    const offers = [
      ...rendered.links.map((link) => `link "${link.label}" → \`${link.href}\``),
      ...(rendered.calendar ? ['"Lägg till i kalendern" (.ics)'] : []),
      '"Markera som oläst", "Ta bort meddelandet" (asks first)',
    ];
    out.push(`The page offers: ${offers.join('; ')}.`);
  }
  return `${out.join('\n')}\n`;
}

export const MESSAGES_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/MESSAGES.md');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(MESSAGES_DOC, examplesMarkdown());
  console.log(`wrote ${path.relative(process.cwd(), MESSAGES_DOC)}`);
}
