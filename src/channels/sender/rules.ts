// The sender's other pure rules: a delivery's reference towards providers, the backoff between attempts,
// and what a failed hand-over becomes (table-tested in test/channels/sender-rules.test.ts).
import { sql, type SQL } from 'drizzle-orm';
import type { ChannelError } from '../providers/types.js';

/** A timestamptz parameter; ISO text, because the postgres driver (under drizzle) does not take a Date. */
export function instant(value: Date): SQL {
  return sql`${value.toISOString()}::timestamptz`;
}

export function defaultBackoffMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 30 * 60_000);
}

/** A delivery's reference towards providers: stable over its attempts, unique also across database resets. */
export function deliveryReference(id: number, createdAt: Date): string {
  return `${id}-${createdAt.getTime().toString(36)}`;
}

/** The delivery id in a reference (from a status callback); undefined if it is not one of ours. */
export function deliveryIdOf(reference: string): number | undefined {
  const match = /^([1-9][0-9]{0,15})-[0-9a-z]+$/.exec(reference);
  return match ? Number(match[1]) : undefined;
}

export type FailureOutcome = { kind: 'failed'; code: string } | { kind: 'retried'; code: string; retryAfterMs: number };

/** A permanent refusal, or the last allowed attempt, fails the delivery; otherwise it is tried again after backoff. */
export function failureOutcome(
  failure: Pick<ChannelError, 'kind' | 'code'>,
  attempts: number,
  maxAttempts: number,
  backoffMs: (attempts: number) => number,
): FailureOutcome {
  if (failure.kind === 'permanent') return { kind: 'failed', code: failure.code };
  if (attempts >= maxAttempts) return { kind: 'failed', code: `gave_up:${failure.code}` };
  return { kind: 'retried', code: failure.code, retryAfterMs: backoffMs(attempts) };
}
