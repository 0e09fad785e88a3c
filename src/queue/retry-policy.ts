// When a notification whose details cannot be had now is tried again, and when it is given up. Pure (the
// clock and the random source are inputs), so that a night-long outage can be tested with a simulated clock.
//
// Retries are bounded by time, not by a count: a producer that is down for a night (a maintenance window)
// must not turn a region's notifications into dead letters. A notification waits (keeping its place in its
// post's order) for `retryPeriodMs` from when EI delivered it, or until the booking's known time has passed,
// whichever is first; only then, or at once for a permanent fault, is it a dead letter for operators.
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

export const FAILURE_KINDS = ['transient', 'not-sent', 'configuration', 'permanent'] as const;
/**
 * - transient: the call was made and failed (network, timeout, 5xx, a fault): a try is spent, backoff grows;
 * - not-sent: the call was not made (the care unit's circuit breaker is open, no free slot): no try is spent;
 * - configuration: the platform has no route or no permission (VP004/VP007, other HTTP statuses): slow retries;
 * - permanent: a malformed answer or a contract error: retrying cannot help.
 */
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface Failure {
  kind: FailureKind;
  reason: string;
  /** The fetcher's suggestion (an open breaker's remaining cool-down, a configuration retry interval). */
  retryAfterMs?: number;
}

export interface RetryContext {
  /** Tries spent so far (calls that were made and failed). */
  attempts: number;
  /** When EI delivered the notification: the retry period runs from here. */
  receivedAt: Date;
  /** The booking's start as last known, if any: there is no point in trying after it. */
  bookingStart?: Date;
  now: Date;
  retryPeriodMs: number;
  random?: () => number;
}

export type RetryPlan =
  { kind: 'retry'; delayMs: number; spendTry: boolean; reason: string } | { kind: 'dead'; reason: string };

export const DEFAULT_RETRY_PERIOD_MS = 48 * 3600_000;
/** VP004/VP007: fixed by ordering a route, not by hammering. */
export const CONFIGURATION_RETRY_MS = 15 * 60_000;
/** The shortest wait, so that a refusal never comes straight back. */
const MIN_DELAY_MS = 1_000;

export function planRetry(failure: Failure, context: RetryContext): RetryPlan {
  if (failure.kind === 'permanent') return { kind: 'dead', reason: failure.reason };
  const now = context.now.getTime();
  const periodEnd = context.receivedAt.getTime() + context.retryPeriodMs;
  const bookingStart = context.bookingStart?.getTime();
  if (now >= periodEnd) {
    return {
      kind: 'dead',
      reason:
        `still failing after the retry period (${Math.round(context.retryPeriodMs / 3600_000)} h): ` +
        `${failure.reason}`,
    };
  }
  if (bookingStart !== undefined && now >= bookingStart) {
    return { kind: 'dead', reason: `still failing when the booking's time had passed: ${failure.reason}` };
  }
  const random = context.random ?? Math.random;
  let delayMs: number;
  let spendTry = true;
  switch (failure.kind) {
    case 'not-sent':
      // A refusal costs the producer nothing and spends no try. It waits out the breaker's cool-down, or
      // half as long as the notification has waited so far (the doubling of the backoff, counted in time,
      // up to 5 minutes) if that is longer: a unit down all night is not polled every cool-down by each of
      // its notifications, and is found again within 5 minutes of its return.
      spendTry = false;
      delayMs =
        Math.max(
          failure.retryAfterMs ?? MIN_DELAY_MS,
          MIN_DELAY_MS,
          Math.min(DEFAULT_BACKOFF.maxMs, (now - context.receivedAt.getTime()) / 2),
        ) + Math.round(random() * MIN_DELAY_MS);
      break;
    case 'configuration':
      delayMs = failure.retryAfterMs ?? CONFIGURATION_RETRY_MS;
      break;
    case 'transient':
      delayMs = Math.min(failure.retryAfterMs ?? backoffDelay(context.attempts + 1, { random }), DEFAULT_BACKOFF.maxMs);
      break;
  }
  // The last try falls at the end of the period (or just before the booking), not after it.
  const end = Math.min(periodEnd, bookingStart ?? Infinity);
  delayMs = Math.max(MIN_DELAY_MS, Math.min(delayMs, end - now));
  return { kind: 'retry', delayMs, spendTry, reason: failure.reason };
}
