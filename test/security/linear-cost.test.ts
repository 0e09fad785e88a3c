// Every function that masks a logged value or checks a value from outside costs linear time in the
// length of its input: fed 1 MB of each character class (and of the alternations that make patterns
// backtrack), its CPU time is compared with the CPU time of the same amount of input in 64 KB pieces.
// Linear cost gives a ratio near 1; quadratic cost gives 16. CPU time (process.cpuUsage), not wall time:
// a loaded machine slows both measurements alike. A quadratic function fails the smaller step first
// (16 KB against 1 KB pieces), so that the test ends quickly instead of running for hours.
import { describe, expect, it } from 'vitest';
import { checkChange, checkRegistration } from '../../src/activation-registry/validation.js';
import { mergeSettings, normaliseEmailAddress, normalisePhoneNumber } from '../../src/channels/settings.js';
import {
  classifyFault,
  DEFAULT_CONFIGURATION_FAULT_CODES,
  NOT_FOUND_FAULT_PATTERNS,
} from '../../src/details-fetcher/classify.js';
import { readGetBookingDetailsAnswer } from '../../src/details-fetcher/answer-reader.js';
import { escapeXmlAttribute, plainHost } from '../../src/http/public-url.js';
import { errorForLog, logSafe, maskPersonalData } from '../../src/logging.js';
import { checkTransaction, isValidTimestamp } from '../../src/process-notifications/engagement.js';
import { parseProcessNotificationEnvelope } from '../../src/process-notifications/envelope-parser.js';
import { soap11ContentTypeRefusal } from '../../src/process-notifications/soap-endpoint.js';
import { parseSwedishLocalTime } from '../../src/time/swedish-time.js';
import { escapeHtml } from '../../src/web/html.js';
import { claimHoldsRole, personalNumberOf } from '../../src/web/oidc.js';

const MB = 1024 * 1024;

/** Repeated to any length: single character classes, and alternations that make patterns backtrack. */
const CHARACTER_CLASSES: Record<string, string> = {
  digits: '7',
  lower: 'a',
  upper: 'Z',
  dot: '.',
  at: '@',
  hyphen: '-',
  plus: '+',
  space: ' ',
  tab: '\t',
  nonAscii: 'å',
  markup: '<',
  ampersand: '&',
  'letter-dot': 'a.',
  'letter-at': 'a@',
  'digit-space': '7 ',
  'digit-hyphen': '1-',
  'plus-digits': '+4',
  'e-mail-like': 'a@b.',
};

function textOf(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/**
 * Linear cost gives about 1, quadratic 16: 8 keeps the two far apart, and a ratio of 4.02 was seen for a
 * linear function when the garbage collector's threads ran on a loaded machine (they count as the process's CPU).
 */
const LIMIT = 8;

/** CPU time of `size` characters in one piece, against the same total in pieces of size / 16. */
function costRatio(subject: (input: string) => unknown, unit: string, size: number): number {
  const whole = textOf(unit, size);
  const piece = textOf(unit, size / 16);
  subject(piece); // warm the JIT
  // Enough rounds that the smaller measurement is well above the clock's resolution.
  let rounds = 1;
  while (cpuMicros(() => subject(whole)) * rounds < 20_000 && rounds < 64) rounds *= 2;
  const measure = () => {
    const one = cpuMicros(() => {
      for (let round = 0; round < rounds; round++) subject(whole);
    });
    const pieces = cpuMicros(() => {
      for (let round = 0; round < rounds * 16; round++) subject(piece);
    });
    return one / Math.max(pieces, 1);
  };
  // The best of three: a garbage collection or another process's burst only ever makes one run slower.
  return Math.min(measure(), measure(), measure());
}

function envelope(logicalAddress: string): string {
  return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:r="urn:riv:itintegration:registry:1" xmlns:p="urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1" xmlns:e="urn:riv:itintegration:engagementindex:1"><soap:Header><r:LogicalAddress>${escapeHtml(logicalAddress)}</r:LogicalAddress></soap:Header><soap:Body><p:ProcessNotification><p:engagementTransaction><e:deleteFlag>false</e:deleteFlag><e:engagement><e:registeredResidentIdentification>${escapeHtml(logicalAddress)}</e:registeredResidentIdentification></e:engagement></p:engagementTransaction></p:ProcessNotification></soap:Body></soap:Envelope>`;
}

function answer(text: string): string {
  return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>${escapeHtml(text)}</faultstring></soap:Fault></soap:Body></soap:Envelope>`;
}

const classify = {
  configurationFaultCodes: new Set(DEFAULT_CONFIGURATION_FAULT_CODES),
  notFoundFaultPatterns: NOT_FOUND_FAULT_PATTERNS,
  transientRetryMs: undefined,
  configurationRetryMs: 900_000,
};

const SUBJECTS: Record<string, (input: string) => unknown> = {
  maskPersonalData,
  logSafe,
  errorForLog: (input) => errorForLog(new Error(input, { cause: { code: input, message: input } })),
  'errorForLog (failed query)': (input) =>
    errorForLog(new Error(`Failed query: ${input}\nparams: ${input}`, { cause: { message: input } })),
  checkRegistration: (input) => checkRegistration({ environment: input, hsaId: input, name: input, mode: input }),
  checkChange: (input) => checkChange({ name: input, mode: input }),
  normalisePhoneNumber,
  normaliseEmailAddress,
  mergeSettings: (input) => {
    try {
      return mergeSettings(
        { sms: { enabled: false, phone: null }, email: { enabled: false, address: null } } as Parameters<
          typeof mergeSettings
        >[0],
        {
          sms: { enabled: true, phone: input },
          email: { enabled: true, address: input },
        },
      );
    } catch (error) {
      return error;
    }
  },
  checkTransaction: (input) =>
    checkTransaction({
      position: 1,
      deleteFlag: input,
      hasEngagement: true,
      fields: Object.fromEntries(
        [
          'registeredResidentIdentification',
          'serviceDomain',
          'categorization',
          'logicalAddress',
          'businessObjectInstanceIdentifier',
          'clinicalProcessInterestId',
          'mostRecentContent',
          'sourceSystem',
          'creationTime',
          'updateTime',
          'dataController',
          'owner',
        ].map((field) => [field, input]),
      ),
      problems: [],
    }),
  isValidTimestamp,
  parseSwedishLocalTime,
  personalNumberOf,
  escapeHtml,
  parseProcessNotificationEnvelope: (input) => {
    try {
      return parseProcessNotificationEnvelope(envelope(input));
    } catch (error) {
      return error;
    }
  },
  readGetBookingDetailsAnswer: (input) => readGetBookingDetailsAnswer(answer(input)),
  classifyFault: (input) => classifyFault(input, input, classify),
  plainHost,
  escapeXmlAttribute,
  soap11ContentTypeRefusal,
  claimHoldsRole: (input) => claimHoldsRole(input, 'national-admin'),
};

describe('Linear cost of masking and validation', () => {
  for (const [name, subject] of Object.entries(SUBJECTS)) {
    it(
      `When ${name} is fed 1 MB of each character class, then its CPU time grows linearly`,
      { timeout: 300_000 },
      () => {
        const worst: Record<string, number> = {};
        for (const [characterClass, unit] of Object.entries(CHARACTER_CLASSES)) {
          // Step 1: 16 KB against 1 KB pieces: a quadratic function shows a ratio near 16 already.
          const small = costRatio(subject, unit, 16 * 1024);
          expect.soft(small, `${name}, ${characterClass}, 16 KB`).toBeLessThan(LIMIT);
          if (small >= LIMIT) continue;
          // Step 2: the full megabyte against 64 KB pieces.
          worst[characterClass] = costRatio(subject, unit, MB);
        }
        for (const [characterClass, ratio] of Object.entries(worst)) {
          expect.soft(ratio, `${name}, ${characterClass}, 1 MB`).toBeLessThan(LIMIT);
        }
      },
    );
  }
});
