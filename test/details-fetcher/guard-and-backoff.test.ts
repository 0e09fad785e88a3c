// The pure parts: the backoff formula and the per-address guard (with a clock the test moves).
import { describe, expect, it } from 'vitest';
import { AddressGuard, isRefusal, type Slot } from '../../src/details-fetcher/address-guard.js';
import { backoffDelay } from '../../src/queue/index.js';

describe('backoffDelay', () => {
  it.each([
    [1, 500, 1_000],
    [2, 1_000, 2_000],
    [3, 2_000, 4_000],
    [9, 128_000, 256_000],
    [10, 150_000, 300_000],
    [60, 150_000, 300_000],
  ])('When attempt %i failed, then the wait lies between %i and %i ms', (attempt, low, high) => {
    expect(backoffDelay(attempt, { random: () => 0 })).toBe(low);
    expect(backoffDelay(attempt, { random: () => 0.999999 })).toBeLessThanOrEqual(high);
    expect(backoffDelay(attempt, { random: () => 0.999999 })).toBeGreaterThan(high * 0.99);
  });

  it('When many retries of the same attempt are drawn, then they spread over the jitter range', () => {
    const waits = Array.from({ length: 200 }, () => backoffDelay(4));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(4_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(8_000);
    expect(new Set(waits).size).toBeGreaterThan(50);
  });

  it('When the attempt is 0, negative or not a number, then it counts as the first', () => {
    for (const attempt of [0, -3, Number.NaN]) expect(backoffDelay(attempt, { random: () => 0 })).toBe(500);
  });

  it('When base and cap are given, then they are used', () => {
    expect(backoffDelay(3, { baseMs: 100, maxMs: 300, random: () => 0 })).toBe(150);
  });
});

function guard(now: { t: number }, overrides: Partial<ConstructorParameters<typeof AddressGuard>[0]> = {}) {
  return new AddressGuard({
    maxInFlight: 2,
    maxQueued: 2,
    queueTimeoutMs: 1_000,
    failureThreshold: 3,
    coolDownMs: 10_000,
    now: () => now.t,
    ...overrides,
  });
}

async function slot(g: AddressGuard, address: string): Promise<Slot> {
  const acquired = await g.acquire(address);
  if (isRefusal(acquired)) throw new Error(`refused: ${acquired.reason}`);
  return acquired;
}

describe('AddressGuard', () => {
  it('When the cap is reached, then further calls wait, and a freed slot goes to the first waiter', async () => {
    const g = guard({ t: 0 });
    const first = await slot(g, 'A');
    await slot(g, 'A');
    const waiting = g.acquire('A');
    expect(waiting).toBeInstanceOf(Promise);
    expect(g.status('A')).toMatchObject({ inFlight: 2, queued: 1 });
    // Another address is not affected.
    expect(isRefusal(g.acquire('B') as Slot)).toBe(false);

    first.release('success');
    const third = await waiting;
    expect(isRefusal(third)).toBe(false);
    expect(g.status('A')).toMatchObject({ inFlight: 2, queued: 0 });
  });

  it('When the wait queue is full, then the next call is refused at once', async () => {
    const g = guard({ t: 0 });
    await slot(g, 'A');
    await slot(g, 'A');
    void g.acquire('A');
    void g.acquire('A');
    expect(g.acquire('A')).toEqual({ reason: 'queue-full' });
  });

  it('When transient failures in a row reach the threshold, then the breaker opens, refuses calls, and lets one trial through after the cool-down', async () => {
    const now = { t: 0 };
    const changes: string[] = [];
    const g = guard(now, { onBreakerChange: (address, state) => changes.push(`${address}:${state}`) });
    for (let i = 0; i < 3; i += 1) (await slot(g, 'A')).release('transient-failure');

    expect(g.status('A').breaker).toBe('open');
    now.t = 4_000;
    expect(g.acquire('A')).toEqual({ reason: 'circuit-open', retryAfterMs: 6_000 });

    now.t = 10_000;
    const trial = await slot(g, 'A');
    expect(g.status('A').breaker).toBe('half-open');
    expect(g.acquire('A')).toMatchObject({ reason: 'circuit-open' });

    trial.release('transient-failure');
    expect(g.status('A').breaker).toBe('open');
    now.t = 20_000;
    (await slot(g, 'A')).release('success');
    expect(g.status('A')).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
    expect(changes).toEqual(['A:open', 'A:half-open', 'A:open', 'A:half-open', 'A:closed']);
  });

  it('When a success comes between failures, then the count starts again', async () => {
    const g = guard({ t: 0 });
    (await slot(g, 'A')).release('transient-failure');
    (await slot(g, 'A')).release('transient-failure');
    (await slot(g, 'A')).release('success');
    (await slot(g, 'A')).release('transient-failure');
    (await slot(g, 'A')).release('neutral');
    (await slot(g, 'A')).release('transient-failure');
    expect(g.status('A')).toMatchObject({ breaker: 'closed', consecutiveFailures: 2 });
  });

  it('When the breaker opens, then the calls waiting for that address are sent back at once', async () => {
    const g = guard({ t: 0 }, { failureThreshold: 1 });
    const held = await slot(g, 'A');
    await slot(g, 'A');
    const waiting = g.acquire('A');
    held.release('transient-failure');
    expect(await waiting).toEqual({ reason: 'circuit-open', retryAfterMs: 10_000 });
  });
});
