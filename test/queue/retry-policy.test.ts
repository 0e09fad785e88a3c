// The retry policy: bounded by time, not by a count. Table rows for the single decisions, and outages of
// 10 minutes and 12 hours on a simulated clock, with the real circuit breaker (AddressGuard) in front of a
// producer that is down: every notification is processed after the producer returns, none is a dead letter.
import { describe, expect, it } from 'vitest';
import { AddressGuard, isRefusal } from '../../src/details-fetcher/address-guard.js';
import { DETAILS_FETCHER_DEFAULTS } from '../../src/details-fetcher/index.js';
import { planRetry, type Failure, type RetryContext } from '../../src/queue/retry-policy.js';

const T0 = new Date('2026-11-22T22:00:00Z');
const HOUR = 3600_000;
const context = (overrides: Partial<RetryContext> = {}): RetryContext => ({
  attempts: 0,
  receivedAt: T0,
  now: T0,
  retryPeriodMs: 48 * HOUR,
  random: () => 0.5,
  ...overrides,
});

describe('planRetry: one row per rule', () => {
  it.each<[string, Failure, Partial<RetryContext>, object]>([
    [
      'a transient failure: backoff from 1 s',
      { kind: 'transient', reason: 'HTTP 503' },
      {},
      { kind: 'retry', delayMs: 1000, spendTry: true },
    ],
    [
      'a transient failure after 10 tries: backoff capped at 5 minutes',
      { kind: 'transient', reason: 'HTTP 503' },
      { attempts: 10 },
      { kind: 'retry', delayMs: 225_000, spendTry: true },
    ],
    [
      'a refusal of the open breaker: no try spent, after its cool-down',
      { kind: 'not-sent', reason: 'circuit open', retryAfterMs: 20_000 },
      { attempts: 3 },
      { kind: 'retry', delayMs: 20_500, spendTry: false },
    ],
    [
      'a refusal after an hour of waiting: no try spent, 5 minutes',
      { kind: 'not-sent', reason: 'circuit open', retryAfterMs: 20_000 },
      { attempts: 3, now: new Date(T0.getTime() + HOUR) },
      { kind: 'retry', delayMs: 300_500, spendTry: false },
    ],
    [
      'VP004/VP007: every 15 minutes',
      { kind: 'configuration', reason: 'VP004' },
      {},
      { kind: 'retry', delayMs: 15 * 60_000, spendTry: true },
    ],
    ['a malformed answer: a dead letter at once', { kind: 'permanent', reason: 'malformed' }, {}, { kind: 'dead' }],
    [
      'still failing after the retry period: a dead letter',
      { kind: 'transient', reason: 'HTTP 503' },
      { now: new Date(T0.getTime() + 48 * HOUR) },
      { kind: 'dead' },
    ],
    [
      'still failing when the booking time has passed: a dead letter',
      { kind: 'transient', reason: 'HTTP 503' },
      { now: new Date(T0.getTime() + 2 * HOUR), bookingStart: new Date(T0.getTime() + HOUR) },
      { kind: 'dead' },
    ],
    [
      'the last try falls at the end of the period, not after it',
      { kind: 'configuration', reason: 'VP004' },
      { now: new Date(T0.getTime() + 48 * HOUR - 60_000) },
      { kind: 'retry', delayMs: 60_000 },
    ],
  ])('%s', (_name, failure, given, expected) => {
    expect(planRetry(failure, context(given))).toMatchObject(expected);
  });
});

interface Simulated {
  id: number;
  attempts: number;
  availableAt: number;
  bookingStart?: number;
  done?: number;
  dead?: string;
}

/**
 * N notifications for one care unit whose producer is down for `outageMs`, run on a simulated clock: each
 * try goes through the real AddressGuard (breaker defaults of the fetcher), fails while the producer is down
 * and is planned again by planRetry. Returns what an operator would see.
 */
function simulateOutage(outageMs: number, notifications: number, options: { bookingStartAfterMs?: number } = {}) {
  let now = T0.getTime();
  const guard = new AddressGuard({
    maxInFlight: DETAILS_FETCHER_DEFAULTS.maxInFlightPerAddress,
    maxQueued: 0,
    queueTimeoutMs: 10_000,
    failureThreshold: DETAILS_FETCHER_DEFAULTS.failureThreshold,
    coolDownMs: DETAILS_FETCHER_DEFAULTS.coolDownMs,
    now: () => now,
  });
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const queue: Simulated[] = Array.from({ length: notifications }, (_, id) => ({
    id,
    attempts: 0,
    availableAt: now + id * 10,
    ...(options.bookingStartAfterMs !== undefined ? { bookingStart: now + options.bookingStartAfterMs } : {}),
  }));
  let producerCalls = 0;
  let refusals = 0;
  for (;;) {
    const open = queue.filter((item) => item.done === undefined && item.dead === undefined);
    if (open.length === 0) break;
    const next = open.reduce((a, b) => (a.availableAt <= b.availableAt ? a : b));
    now = next.availableAt;
    const slot = guard.acquire('SE-UNIT');
    let failure: Failure | undefined;
    if (isRefusal(slot as never)) {
      refusals++;
      const refusal = slot as { reason: string; retryAfterMs?: number };
      failure = {
        kind: 'not-sent',
        reason: refusal.reason,
        ...(refusal.retryAfterMs !== undefined ? { retryAfterMs: refusal.retryAfterMs } : {}),
      };
    } else {
      producerCalls++;
      const down = now < T0.getTime() + outageMs;
      (slot as { release(result: string): void }).release(down ? 'transient-failure' : 'success');
      if (!down) {
        next.done = now;
        continue;
      }
      failure = { kind: 'transient', reason: 'HTTP 503 without a SOAP fault' };
    }
    const plan = planRetry(failure, {
      attempts: next.attempts,
      receivedAt: T0,
      now: new Date(now),
      retryPeriodMs: 48 * HOUR,
      ...(next.bookingStart !== undefined ? { bookingStart: new Date(next.bookingStart) } : {}),
      random,
    });
    if (plan.kind === 'dead') {
      next.dead = plan.reason;
      continue;
    }
    if (plan.spendTry) next.attempts++;
    next.availableAt = now + plan.delayMs;
  }
  const recovered = T0.getTime() + outageMs;
  const done = queue.filter((item) => item.done !== undefined);
  return {
    dead: queue.filter((item) => item.dead !== undefined).length,
    processed: done.length,
    producerCalls,
    refusals,
    maxTries: Math.max(...queue.map((item) => item.attempts)),
    lastProcessedAfterRecoverySeconds: done.length
      ? Math.round((Math.max(...done.map((item) => item.done!)) - recovered) / 1000)
      : undefined,
  };
}

describe('outages on a simulated clock, through the real circuit breaker', () => {
  it('When the producer is down for 10 minutes, then 0 dead letters and every notification is processed after it returns', () => {
    const result = simulateOutage(10 * 60_000, 20);
    console.log('[retry policy] 10-minute outage, 20 notifications:', JSON.stringify(result));
    expect(result).toMatchObject({ dead: 0, processed: 20 });
    // Found again within one backoff ceiling (5 min) plus the breaker's cool-down after the producer is back.
    expect(result.lastProcessedAfterRecoverySeconds).toBeLessThanOrEqual(300 + 30 + 2);
  });

  it('When the producer is down for 12 hours (a night of maintenance), then 0 dead letters and the producer is called a bounded number of times', () => {
    const result = simulateOutage(12 * HOUR, 200);
    console.log('[retry policy] 12-hour outage, 200 notifications:', JSON.stringify(result));
    expect(result).toMatchObject({ dead: 0, processed: 200 });
    expect(result.lastProcessedAfterRecoverySeconds).toBeLessThanOrEqual(300 + 30 + 2);
    // The breaker lets about one trial call per cool-down through; refusals cost the producer nothing, and
    // each notification is looked at about once per 5 minutes (not once per cool-down).
    expect(result.producerCalls).toBeLessThan((12 * HOUR) / DETAILS_FETCHER_DEFAULTS.coolDownMs + 200 * 2);
    expect(result.refusals).toBeLessThan(200 * ((12 * HOUR) / 300_000) * 1.2);
  });

  it('When the booking time passes during the outage, then (only then) it is a dead letter for operators', () => {
    const result = simulateOutage(12 * HOUR, 5, { bookingStartAfterMs: 6 * HOUR });
    expect(result).toMatchObject({ dead: 5, processed: 0 });
  });
});
