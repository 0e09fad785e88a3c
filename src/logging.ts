// Structured JSON logs (pino). Personal identity numbers, phone numbers, e-mail addresses and message
// text never reach a log in clear: known fields are redacted, and every logged string is masked.
import pino, { type Logger } from 'pino';

export type { Logger };

// YYMMDD with a real month and a day (61-91 for coordination numbers), so that organisation numbers
// and HSA-ids (whose third digit pair is 20 or more) stay readable for operators.
const PERSONAL_NUMBER =
  /(?<![0-9])(?:19|20)?[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]|[6-8][0-9]|9[01])[-+]?[0-9pPtTfF][0-9]{3}(?![0-9])/g;
// Swedish mobile numbers as typed, and any international number in E.164.
// "+46 70-123 45 67" and "+46 (0)70..." too: the international prefix may be followed by a separator.
// Written as literals, not built from strings: the regular-expression safety scan (test/security) reads literals.
const PHONE =
  /(?:(?<![0-9])(?:(?:\+46|0046)[ -]?(?:\(0\)[ -]?)?|0)7[0-9](?:[ -]?[0-9]){7}(?![0-9]))|(?:\+[1-9][0-9]{7,14}(?![0-9]))/g;
// Only where a run of the local part's characters starts (the lookbehind): a long run without `@` is
// then scanned once, not once per position (which took quadratic time on a 30 KB value).
const EMAIL = /(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}/g;

/** The longest string a log line carries; longer values are cut before they are masked. */
export const MAX_LOGGED_STRING_LENGTH = 1024;
/** How far back from a cut the characters of a possibly cut identity number, phone or e-mail go. */
const CUT_BACK_LIMIT = 80;
const VALUE_CHARACTERS = /[A-Za-z0-9._%+\-@() ]/;
const MAX_DEPTH = 6;
const MAX_ENTRIES = 100;

/** Replaces identity numbers, phone numbers and e-mail addresses in free text (linear time). */
export function maskPersonalData(text: string): string {
  return text.replace(EMAIL, '[e-mail]').replace(PERSONAL_NUMBER, '[personnummer]').replace(PHONE, '[phone]');
}

/**
 * A value from outside as a log line may carry it: cut to MAX_LOGGED_STRING_LENGTH, then masked. At a
 * cut, the characters that could belong to a half identity number, phone number or e-mail address are
 * dropped too (a half number would no longer look like one to the masking).
 */
export function logSafe(text: string): string {
  if (text.length <= MAX_LOGGED_STRING_LENGTH) return maskPersonalData(text);
  let end = MAX_LOGGED_STRING_LENGTH;
  const limit = end - CUT_BACK_LIMIT;
  while (end > limit && VALUE_CHARACTERS.test(text[end - 1]!)) end -= 1;
  return `${maskPersonalData(text.slice(0, end))}…[${text.length} characters, cut]`;
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
            typeof arg === 'string' ? logSafe(arg) : arg && typeof arg === 'object' ? maskObject(arg, 0) : arg,
          ) as Parameters<typeof method>;
          return method.apply(this, masked);
        },
      },
    },
    options.destination,
  );
}

/** An error as a log line may carry it: its name, and its message cut and masked. A failed database
 * query's message holds the SQL and its parameters (drizzle: "Failed query: ... params: ..."): only the
 * database's own error code and message are kept (postgres never puts parameters there). */
export function errorForLog(error: Error): { name: string; message: string; code?: string } {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (error.message.startsWith('Failed query')) {
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    const reason = typeof cause?.message === 'string' ? `: ${logSafe(cause.message.split('\n')[0]!)}` : '';
    return { name: error.name, message: `Failed query${reason}`, ...(code !== undefined && { code: logSafe(code) }) };
  }
  return { name: error.name, message: logSafe(error.message.split('\n')[0]!) };
}

function maskObject(value: object, depth: number): object {
  if (value instanceof Error) return errorForLog(value);
  // Deep or wide values (and cycles) are cut like long strings: a log line stays bounded.
  if (depth >= MAX_DEPTH) return { cut: 'nested too deep' };
  const out: Record<string, unknown> = Array.isArray(value) ? ([] as unknown as Record<string, unknown>) : {};
  let entries = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (++entries > MAX_ENTRIES) break;
    const item = (value as Record<string, unknown>)[key];
    out[key] =
      typeof item === 'string' ? logSafe(item) : item && typeof item === 'object' ? maskObject(item, depth + 1) : item;
  }
  return out;
}
