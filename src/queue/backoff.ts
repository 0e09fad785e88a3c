// How long to wait before trying a transient failure again: the backoff formula of the queue's retry
// policy (retry-policy.ts, its only caller), kept pure (the random source is a parameter) for tests.

export interface BackoffOptions {
  /** The wait before the first retry, before jitter. */
  baseMs?: number;
  /** No wait is longer than this. */
  maxMs?: number;
  /** A number in [0, 1); Math.random by default. */
  random?: () => number;
}

export const DEFAULT_BACKOFF = { baseMs: 1_000, maxMs: 5 * 60_000 } as const;

/**
 * Exponential backoff with "equal jitter": the ceiling doubles per attempt (base, 2*base, 4*base, ... up
 * to maxMs) and the wait is drawn uniformly from [ceiling/2, ceiling]. Half the ceiling is kept so that a
 * retry never comes straight back; the random half spreads many failures of one producer over time
 * instead of sending them back together.
 *
 * @param attempt the number of the attempt that just failed, 1 for the first call.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const random = options.random ?? Math.random;
  const step = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  // 2^(step-1) overflows to Infinity long after it passed maxMs; Math.min settles it.
  const ceiling = Math.min(maxMs, baseMs * 2 ** (step - 1));
  const share = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (ceiling / 2) * share);
}
