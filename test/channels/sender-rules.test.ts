// The sender's pure rules, as tables: the claim decision (cancel, hold for quiet hours or the daily cap,
// send), what a failed hand-over becomes, references, and the one delivery-status ranking.
import { describe, expect, it } from 'vitest';
import { AWAITING_PROVIDER, DELIVERY_STATUSES, movesOn } from '../../src/channels/schema.js';
import {
  decideClaim,
  defaultBackoffMs,
  deliveryIdOf,
  deliveryReference,
  failureOutcome,
  type ClaimDecision,
  type DueDelivery,
  type SmsRules,
} from '../../src/channels/sender/index.js';

const rules: SmsRules = { quietHours: { from: 21, to: 8 }, dailyCap: 5 };
// Swedish winter time is UTC+1: 12:00 UTC is 13:00 in Sweden, 21:30 UTC is 22:30.
const noon = new Date('2026-01-15T12:00:00Z');
const evening = new Date('2026-01-15T21:30:00Z');

describe('decideClaim', () => {
  const cases: { name: string; delivery: DueDelivery; at: Date; rules?: SmsRules; expected: ClaimDecision }[] = [
    {
      name: 'channel off: cancelled',
      delivery: { channel: 'sms', target: null, smsSentToday: 0 },
      at: noon,
      expected: { kind: 'cancel', reason: 'channel_off' },
    },
    {
      name: 'e-mail off: cancelled',
      delivery: { channel: 'email', target: null, smsSentToday: 0 },
      at: evening,
      expected: { kind: 'cancel', reason: 'channel_off' },
    },
    {
      name: 'SMS by day under the cap: sent',
      delivery: { channel: 'sms', target: '+46701234567', smsSentToday: 4 },
      at: noon,
      expected: { kind: 'send', recipient: '+46701234567' },
    },
    {
      name: 'SMS in quiet hours: held until 08:00 Swedish time',
      delivery: { channel: 'sms', target: '+46701234567', smsSentToday: 0 },
      at: evening,
      expected: { kind: 'hold', reason: 'quiet_hours', until: new Date('2026-01-16T07:00:00Z') },
    },
    {
      name: 'SMS at the cap: held until the next day after the quiet hours',
      delivery: { channel: 'sms', target: '+46701234567', smsSentToday: 5 },
      at: noon,
      expected: { kind: 'hold', reason: 'daily_cap', until: new Date('2026-01-16T07:00:00Z') },
    },
    {
      name: 'quiet hours win over the cap',
      delivery: { channel: 'sms', target: '+46701234567', smsSentToday: 9 },
      at: evening,
      expected: { kind: 'hold', reason: 'quiet_hours', until: new Date('2026-01-16T07:00:00Z') },
    },
    {
      name: 'e-mail ignores quiet hours and the cap',
      delivery: { channel: 'email', target: 'a@example.se', smsSentToday: 9 },
      at: evening,
      expected: { kind: 'send', recipient: 'a@example.se' },
    },
    {
      name: 'no quiet hours configured: SMS in the evening sent',
      delivery: { channel: 'sms', target: '+46701234567', smsSentToday: 0 },
      at: evening,
      rules: { quietHours: undefined, dailyCap: 5 },
      expected: { kind: 'send', recipient: '+46701234567' },
    },
  ];
  for (const { name, delivery, at, expected, ...rest } of cases) {
    it(name, () => expect(decideClaim(delivery, at, rest.rules ?? rules)).toEqual(expected));
  }
});

describe('failureOutcome', () => {
  const backoff = defaultBackoffMs;
  const cases = [
    {
      failure: { kind: 'permanent' as const, code: 'twilio_21211' },
      attempts: 1,
      expected: { kind: 'failed', code: 'twilio_21211' },
    },
    {
      failure: { kind: 'transient' as const, code: 'http_503' },
      attempts: 1,
      expected: { kind: 'retried', code: 'http_503', retryAfterMs: 30_000 },
    },
    {
      failure: { kind: 'transient' as const, code: 'http_503' },
      attempts: 3,
      expected: { kind: 'retried', code: 'http_503', retryAfterMs: 120_000 },
    },
    {
      failure: { kind: 'transient' as const, code: 'network' },
      attempts: 10,
      expected: { kind: 'failed', code: 'gave_up:network' },
    },
  ];
  for (const { failure, attempts, expected } of cases) {
    it(`${failure.kind} ${failure.code} at attempt ${attempts}`, () =>
      expect(failureOutcome(failure, attempts, 10, backoff)).toEqual(expected));
  }
  it('backoff doubles from 30 s and stops at 30 minutes', () => {
    expect([1, 2, 3, 7, 8, 20].map(defaultBackoffMs)).toEqual([
      30_000, 60_000, 120_000, 1_800_000, 1_800_000, 1_800_000,
    ]);
  });
});

describe('references', () => {
  it('a reference gives back its delivery id; anything else is not ours', () => {
    const reference = deliveryReference(42, new Date('2026-01-15T12:00:00Z'));
    expect(deliveryIdOf(reference)).toBe(42);
    for (const other of ['', '42', '0-abc', '-1-abc', '42-ABC', '1234567890123456789-a', 'x-42'])
      expect(deliveryIdOf(other)).toBeUndefined();
  });
});

describe('the delivery-status ranking', () => {
  const table: [next: string, current: string, moves: boolean][] = [
    ['queued', 'sending', true],
    ['sent', 'queued', true],
    ['delivered', 'sent', true],
    ['queued', 'delivered', false],
    ['sent', 'sent', false],
    ['undelivered', 'delivered', false],
    ['delivered', 'in_doubt', true],
    ['failed', 'unknown', true],
    ['sent', 'cancelled', false],
    ['something-new', 'pending', false],
  ];
  for (const [next, current, moves] of table) {
    it(`${next} after ${current}: ${moves ? 'taken' : 'ignored'}`, () => expect(movesOn(next, current)).toBe(moves));
  }
  it('a provider answer is taken only while a hand-over is in hand', () => {
    expect(AWAITING_PROVIDER).toEqual(['sending', 'in_doubt', 'unknown']);
    expect(AWAITING_PROVIDER.every((status) => DELIVERY_STATUSES.includes(status))).toBe(true);
  });
});
