// The guard's state per logical address is bounded: addresses come from outside (EI's notifications),
// so idle ones are forgotten after idleEvictMs, and beyond maxAddresses the least recently used idle
// ones go first. Addresses with calls in flight are never forgotten (their slots must be given back).
import { describe, expect, it } from 'vitest';
import { AddressGuard, isRefusal, type Slot } from '../../src/details-fetcher/address-guard.js';

function guard(now: { t: number }, options: { maxAddresses?: number; idleEvictMs?: number } = {}) {
  return new AddressGuard({
    maxInFlight: 2,
    maxQueued: 2,
    queueTimeoutMs: 1_000,
    failureThreshold: 3,
    coolDownMs: 10_000,
    now: () => now.t,
    ...options,
  });
}

function slot(g: AddressGuard, address: string): Slot {
  const acquired = g.acquire(address);
  if (acquired instanceof Promise || isRefusal(acquired)) throw new Error('expected a slot at once');
  return acquired;
}

describe('AddressGuard: bounded state per address', () => {
  it('When an address with a failure count stays idle past idleEvictMs, then it is forgotten at the next call', () => {
    const now = { t: 0 };
    const g = guard(now, { idleEvictMs: 60_000 });
    slot(g, 'A').release('transient-failure');
    expect(g.status('A').consecutiveFailures).toBe(1);
    expect(g.size).toBe(1);
    now.t = 60_001;
    slot(g, 'B').release('success');
    expect(g.size).toBe(0);
    expect(g.status('A').consecutiveFailures).toBe(0);
  });

  it('When more addresses fail than maxAddresses, then only maxAddresses are kept, the least recently used forgotten first', () => {
    const now = { t: 0 };
    const g = guard(now, { maxAddresses: 3 });
    for (const address of ['A', 'B', 'C', 'D', 'E']) {
      now.t += 1;
      slot(g, address).release('transient-failure');
    }
    expect(g.size).toBe(3);
    expect(['A', 'B'].map((address) => g.status(address).consecutiveFailures)).toEqual([0, 0]);
    expect(['C', 'D', 'E'].map((address) => g.status(address).consecutiveFailures)).toEqual([1, 1, 1]);
  });

  it('When every remembered address has a call in flight, then none of them is forgotten; the bound holds again as they finish', () => {
    const now = { t: 0 };
    const g = guard(now, { maxAddresses: 2 });
    const held = ['A', 'B', 'C'].map((address) => slot(g, address));
    expect(g.size).toBe(3);
    for (const s of held) s.release('transient-failure');
    expect(g.size).toBe(2);
  });

  it('When breakers are open, then breakerCounts counts them without a list of addresses kept elsewhere', () => {
    const now = { t: 0 };
    const g = guard(now);
    for (let i = 0; i < 3; i++) slot(g, 'DOWN').release('transient-failure');
    expect(g.breakerCounts()).toEqual({ open: 1, halfOpen: 0 });
    now.t = 10_001;
    expect(g.breakerCounts()).toEqual({ open: 0, halfOpen: 1 });
  });
});
