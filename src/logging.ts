// Structured JSON logs (pino). Personal identity numbers, phone numbers, e-mail addresses and message
// text never reach a log in clear: known fields are redacted, and every logged string is masked.
import pino, { type Logger } from 'pino';

export type { Logger };

// YYMMDD with a real month and a day (61-91 for coordination numbers), so that organisation numbers
// and HSA-ids (whose third digit pair is 20 or more) stay readable for operators.
const PERSONAL_NUMBER = /(?<![0-9])(?:19|20)?[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]|[6-8][0-9]|9[01])[-+]?[0-9pPtTfF][0-9]{3}(?![0-9])/g;
// Swedish mobile numbers as typed, and any international number in E.164.
// "+46 70-123 45 67" and "+46 (0)70..." too: the international prefix may be followed by a separator.
const PHONE = /(?:(?<![0-9])(?:(?:\+46|0046)[ -]?(?:\(0\)[ -]?)?|0)7[0-9](?:[ -]?[0-9]){7}(?![0-9]))|(?:\+[1-9][0-9]{7,14}(?![0-9]))/g;
const EMAIL = /[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}/g;

/** Replaces identity numbers, phone numbers and e-mail addresses in free text. */
export function maskPersonalData(text: string): string {
  return text.replace(EMAIL, '[e-mail]').replace(PERSONAL_NUMBER, '[personnummer]').replace(PHONE, '[phone]');
}

const REDACTED_KEYS = [
  'resident',
  'pnr',
  'personalNumber',
  'registeredResidentIdentification',
  'phone',
  'address',
  'email',
  'body',
  'subject',
  'text',
  'html',
  // The channels' and the details fetcher's names for the same data.
  'recipient',
  'to',
  'actorId',
  'subjectOfCare',
  'phoneNumber',
  'emailAddress',
];

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'ei-inbox' },
      redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`)], censor: '[redacted]' },
      hooks: {
        // Free text (messages, error texts) is masked too: a producer's error may quote a value.
        logMethod(args, method) {
          const masked = args.map((arg) =>
            typeof arg === 'string' ? maskPersonalData(arg) : arg && typeof arg === 'object' ? maskObject(arg) : arg,
          ) as Parameters<typeof method>;
          return method.apply(this, masked);
        },
      },
    },
    options.destination,
  );
}

function maskObject(value: object): object {
  if (value instanceof Error) return { name: value.name, message: maskPersonalData(value.message) };
  const out: Record<string, unknown> = Array.isArray(value) ? [] as unknown as Record<string, unknown> : {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = typeof item === 'string' ? maskPersonalData(item) : item && typeof item === 'object' ? maskObject(item) : item;
  }
  return out;
}
