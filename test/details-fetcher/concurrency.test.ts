// Many calls at once: the cap per logical address, the breaker, headers that never cross between calls,
// and a producer that never answers costing the others nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createDetailsFetcher,
  type DetailsOutcome,
  type GuardedDetailsFetcher,
} from '../../src/details-fetcher/index.js';
import type { DetailsFetcherOptions } from '../../src/details-fetcher/soap-client.js';
import { sampleTimeslot, startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';

let producer: BookingProducer;
const fetchers: GuardedDetailsFetcher[] = [];

async function fetcher(options: Partial<DetailsFetcherOptions> = {}): Promise<GuardedDetailsFetcher> {
  const created = await createDetailsFetcher({
    config: {
      consumerHsaId: 'SE-TEST-INBOX',
      ntjp: { getBookingDetailsUrl: producer.url, tlsCert: undefined, tlsKey: undefined, tlsCa: undefined },
    },
    ...options,
  });
  fetchers.push(created);
  return created;
}

/** A distinct valid-looking personal identity number per index (test persons, not real ones). */
function resident(index: number): string {
  return `1912121${String(index).padStart(5, '0')}`;
}

beforeAll(async () => {
  producer = await startBookingProducer();
});
afterEach(async () => {
  await Promise.all(fetchers.splice(0).map((f) => f.close()));
  producer.handle(undefined);
  producer.reset();
});
afterAll(async () => {
  await producer.close();
});

describe('in-flight cap per logical address', () => {
  it('When 12 calls go to one address with a cap of 3, then the producer never sees more than 3 at once and all are answered', async () => {
    producer.addBooking('SE-CAP-A', 'BOK-1');
    producer.addBooking('SE-CAP-B', 'BOK-1');
    producer.handle(() => ({ delayMs: 80, details: { healthcareFacility: 'SE-CAP' } }));
    const client = await fetcher({ maxInFlightPerAddress: 3 });

    const started = performance.now();
    const toA = Array.from({ length: 12 }, () =>
      client.fetch({ logicalAddress: 'SE-CAP-A', bookingId: 'BOK-1', resident: resident(1) }),
    );
    const toB = Array.from({ length: 3 }, () =>
      client.fetch({ logicalAddress: 'SE-CAP-B', bookingId: 'BOK-1', resident: resident(1) }),
    );
    await Promise.resolve();
    expect(client.status('SE-CAP-A')).toMatchObject({ inFlight: 3, queued: 9 });
    const outcomesB = await Promise.all(toB);
    // B did not queue behind A: when B is done, A still has calls waiting for a slot.
    const queuedAWhenBDone = client.status('SE-CAP-A').queued;
    const outcomesA = await Promise.all(toA);
    const elapsedA = performance.now() - started;

    expect(outcomesA.every((o) => o.kind === 'found')).toBe(true);
    expect(outcomesB.every((o) => o.kind === 'found')).toBe(true);
    expect(producer.maxInFlight('SE-CAP-A')).toBe(3);
    expect(producer.maxInFlight('SE-CAP-B')).toBe(3);
    // 12 calls, 3 at a time, 80 ms each: at least 4 rounds. B ran beside A.
    expect(elapsedA).toBeGreaterThanOrEqual(4 * 80 - 10);
    expect(queuedAWhenBDone).toBeGreaterThan(0);
    expect(client.status('SE-CAP-A')).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('When more calls wait than the queue allows, then the extra ones come back transient at once', async () => {
    producer.handle(() => ({ delayMs: 200, details: { healthcareFacility: 'SE-Q' } }));
    const client = await fetcher({ maxInFlightPerAddress: 1, maxQueuedPerAddress: 2 });

    const calls = Array.from({ length: 5 }, () =>
      client.fetch({ logicalAddress: 'SE-Q', bookingId: 'BOK-1', resident: resident(1) }),
    );
    const first = await Promise.race(calls.map((call, index) => call.then((outcome) => ({ index, outcome }))));
    const outcomes = await Promise.all(calls);

    expect(first.index).toBe(3);
    expect(outcomes.map((o) => o.kind)).toEqual(['found', 'found', 'found', 'transient', 'transient']);
    expect(outcomes[4]).toMatchObject({ reason: 'too many calls waiting for SE-Q' });
    expect(producer.requestsTo('SE-Q')).toHaveLength(3);
  });
});

describe('circuit breaker per logical address', () => {
  it('When a producer fails 3 times in a row, then calls to it return at once without traffic, and after the cool-down one trial call closes it again', async () => {
    let healthy = false;
    producer.handle((request) =>
      request.logicalAddress === 'SE-DOWN' && !healthy
        ? { status: 503 }
        : { details: { healthcareFacility: request.logicalAddress ?? '' } },
    );
    const client = await fetcher({ breaker: { failureThreshold: 3, coolDownMs: 400 } });
    const call = (logicalAddress: string) =>
      client.fetch({ logicalAddress, bookingId: 'BOK-1', resident: resident(1) });

    for (let i = 0; i < 3; i += 1) expect((await call('SE-DOWN')).kind).toBe('transient');
    expect(client.status('SE-DOWN').breaker).toBe('open');

    // "At once": settled before the event loop's next turn, i.e. without any I/O.
    const refusing = call('SE-DOWN');
    const first = await Promise.race([
      refusing.then(() => 'refused'),
      new Promise((resolve) => setImmediate(() => resolve('next turn'))),
    ]);
    expect(first).toBe('refused');
    const refused = await refusing;
    expect(refused).toMatchObject({ kind: 'transient', reason: expect.stringContaining('circuit open for SE-DOWN') });
    // It suggests waiting out what is left of the cool-down (how much is left depends on the machine's pace).
    expect(refused.kind === 'transient' && refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.kind === 'transient' && refused.retryAfterMs).toBeLessThanOrEqual(400);
    expect(producer.requestsTo('SE-DOWN')).toHaveLength(3);
    // Other addresses are not affected.
    expect((await call('SE-UP')).kind).toBe('found');

    await new Promise((resolve) => setTimeout(resolve, 420));
    // Half-open: the trial still fails, so the breaker opens again.
    expect((await call('SE-DOWN')).kind).toBe('transient');
    expect(producer.requestsTo('SE-DOWN')).toHaveLength(4);
    expect(client.status('SE-DOWN').breaker).toBe('open');

    await new Promise((resolve) => setTimeout(resolve, 420));
    healthy = true;
    expect((await call('SE-DOWN')).kind).toBe('found');
    expect(client.status('SE-DOWN')).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
    expect((await call('SE-DOWN')).kind).toBe('found');
  });

  it('When the producer answers "not found" or the platform has no route, then the breaker does not count it as a failure', async () => {
    producer.handle((request) =>
      request.bookingId === 'NO-ROUTE' ? { fault: 'VP004 No Logical Adress found for receiverId SE-X' } : undefined,
    );
    const client = await fetcher({ breaker: { failureThreshold: 2, coolDownMs: 10_000 } });
    for (let i = 0; i < 4; i += 1) {
      expect((await client.fetch({ logicalAddress: 'SE-X', bookingId: 'MISSING', resident: resident(1) })).kind).toBe(
        'not-found',
      );
      expect((await client.fetch({ logicalAddress: 'SE-X', bookingId: 'NO-ROUTE', resident: resident(1) })).kind).toBe(
        'configuration',
      );
    }
    expect(client.status('SE-X').breaker).toBe('closed');
  });
});

describe('header isolation', () => {
  it('When 400 calls to 40 addresses run at once, then each request carries its own LogicalAddress, Actor and booking', async () => {
    const addresses = Array.from({ length: 40 }, (_, i) => `SE23210000${String(i).padStart(2, '0')}-VC`);
    const requests = addresses.flatMap((logicalAddress, a) =>
      Array.from({ length: 10 }, (_, b) => ({
        logicalAddress,
        bookingId: `BOK-${a}-${b}`,
        resident: resident(a * 10 + b),
      })),
    );
    for (const request of requests) {
      producer.addBooking(
        request.logicalAddress,
        request.bookingId,
        sampleTimeslot({ subjectOfCare: request.resident }),
      );
    }
    // Random answer times interleave the calls in every possible order.
    producer.handle(async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 15)));
      return undefined;
    });
    const client = await fetcher({ maxInFlightPerAddress: 8 });

    const outcomes: DetailsOutcome[] = await Promise.all(requests.map((request) => client.fetch(request)));

    expect(producer.requests).toHaveLength(400);
    const expected = new Map(requests.map((r) => [`${r.logicalAddress}/${r.bookingId}`, r]));
    for (const received of producer.requests) {
      const sent = expected.get(`${received.logicalAddress}/${received.bookingId}`);
      expect(sent, `a request for ${received.logicalAddress}/${received.bookingId} that was never made`).toBeDefined();
      expect(received.invalid).toBeUndefined();
      expect(received.healthcareFacility).toBe(received.logicalAddress);
      expect(received.actorId).toBe(sent?.resident);
      expect(received.consumerHsaId).toBe('SE-TEST-INBOX');
      expected.delete(`${received.logicalAddress}/${received.bookingId}`);
    }
    expect(expected.size).toBe(0);
    outcomes.forEach((outcome, index) => {
      expect(outcome.kind === 'found' && outcome.details).toMatchObject({
        healthcareFacility: requests[index]?.logicalAddress,
        bookingId: requests[index]?.bookingId,
        subjectOfCare: requests[index]?.resident,
      });
    });
  });
});

describe('a producer that never answers', () => {
  it('When one address never answers, then calls to another address do not wait for it', async () => {
    producer.addBooking('SE-ALIVE', 'BOK-1', sampleTimeslot({ subjectOfCare: resident(1) }));
    producer.handle((request) => (request.logicalAddress === 'SE-SILENT' ? { hang: true } : undefined));
    // Timeouts longer than the test: the silent calls hold their slots and queue places throughout, so
    // every call to the other address that is answered was answered beside them, not after them.
    const client = await fetcher({ timeoutMs: 120_000, queueTimeoutMs: 120_000 });

    // Fill the silent address's slots and queue first.
    const silent = Array.from({ length: 40 }, () =>
      client.fetch({ logicalAddress: 'SE-SILENT', bookingId: 'BOK-1', resident: resident(1) }),
    );
    await vi.waitFor(() => expect(producer.inFlight('SE-SILENT')).toBe(8), { timeout: 3_000 });

    const alive = await Promise.all(
      Array.from({ length: 40 }, () =>
        client.fetch({ logicalAddress: 'SE-ALIVE', bookingId: 'BOK-1', resident: resident(1) }),
      ),
    );

    expect(alive.map((o) => o.kind)).toEqual(Array(40).fill('found'));
    expect(producer.requestsTo('SE-ALIVE')).toHaveLength(40);
    // Nothing of the silent address has moved meanwhile: no slot was freed for the others to use.
    expect(client.status('SE-SILENT')).toMatchObject({ inFlight: 8, queued: 32 });
    expect(producer.requestsTo('SE-SILENT')).toHaveLength(8);
    await client.close();
    const settled = await Promise.all(silent);
    expect(settled.every((o) => o.kind === 'transient')).toBe(true);
  });

  it('When the silent calls time out, then the breaker opens and sends the waiting calls back without waiting for more timeouts', async () => {
    producer.handle(() => ({ hang: true }));
    // Waiting calls may wait longer than one timeout: they are the ones the breaker must release.
    const client = await fetcher({
      timeoutMs: 300,
      queueTimeoutMs: 5_000,
      maxInFlightPerAddress: 4,
      breaker: { failureThreshold: 4, coolDownMs: 60_000 },
    });

    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () =>
        client.fetch({ logicalAddress: 'SE-SILENT', bookingId: 'BOK-1', resident: resident(1) }),
      ),
    );

    expect(outcomes.every((o) => o.kind === 'transient')).toBe(true);
    const timedOut = outcomes.filter((o) => o.kind === 'transient' && o.reason.startsWith('no answer within')).length;
    const sentBack = outcomes.filter((o) => o.kind === 'transient' && o.reason.startsWith('circuit open')).length;
    // The 4 first calls time out together; the slots freed before the 4th failure went to 3 waiting
    // calls; the 4th failure opened the breaker and sent the other 23 back: two rounds of timeouts, not
    // 30 / 4 rounds (counted, not timed: only 7 calls ever waited for a timeout).
    expect(timedOut).toBe(7);
    expect(sentBack).toBe(23);
    expect(producer.requestsTo('SE-SILENT')).toHaveLength(7);
  });
});

describe('connections kept', () => {
  it('When 320 calls are in flight at once, twice, then the second time every call goes on a connection kept from the first', async () => {
    // 40 addresses at their cap of 8: the producer holds every answer until the whole wave has arrived.
    const wave = 320;
    let arrived = 0;
    let open = () => {};
    let allArrived = Promise.resolve();
    producer.handle(async () => {
      if (++arrived === wave) open();
      await allArrived;
      return { details: { healthcareFacility: 'SE-POOL' } };
    });
    const client = await fetcher();
    const run = async () => {
      arrived = 0;
      allArrived = new Promise<void>((resolve) => (open = resolve));
      const outcomes = await Promise.all(
        Array.from({ length: wave }, (_, i) =>
          client.fetch({ logicalAddress: `SE-POOL-${i % 40}`, bookingId: `BOK-${i}`, resident: resident(i) }),
        ),
      );
      expect(outcomes.filter((outcome) => outcome.kind !== 'found')).toEqual([]);
    };
    const before = producer.connections();
    await run();
    const afterFirst = producer.connections();
    await run();

    // One connection per call in flight; Node's default pool (256 idle at most) closed 64 of them and opened 64 anew.
    expect(afterFirst - before).toBe(wave);
    expect(producer.connections()).toBe(afterFirst);
  });
});

describe('calls per second per logical address', () => {
  /**
   * A clock the test moves: the cap's decisions (who goes now, who waits how long, who is refused) depend
   * only on the calls made and the time the test sets, not on how loaded the machine is.
   */
  function testClock() {
    let now = 1_000;
    const waiting: { ms: number; go: () => void }[] = [];
    return {
      clock: { now: () => now, wait: (ms: number) => new Promise<void>((go) => waiting.push({ ms, go })) },
      /** The waits asked for so far (ms), in the order asked. */
      waits: () => waiting.map((w) => Math.round(w.ms)),
      /** Moves the clock on and lets every waiting call go. */
      advance(ms: number) {
        now += ms;
        for (const w of waiting.splice(0)) w.go();
      },
    };
  }

  it('When 15 calls go to one address with a cap of 5 a second, then the first 5 go at once, the rest one every 200 ms, another address is not held back, and one that would wait past the slot wait is not sent', async () => {
    producer.addBooking('SE-RATE-A', 'BOK-1', { subjectOfCare: resident(1) });
    producer.addBooking('SE-RATE-B', 'BOK-1', { subjectOfCare: resident(1) });
    const time = testClock();
    const client = await fetcher({ maxCallsPerSecondPerAddress: 5, queueTimeoutMs: 2_500, pacingClock: time.clock });
    const toA = Array.from({ length: 15 }, () =>
      client.fetch({ logicalAddress: 'SE-RATE-A', bookingId: 'BOK-1', resident: resident(1) }),
    );
    const toB = await Promise.all(
      Array.from({ length: 5 }, () =>
        client.fetch({ logicalAddress: 'SE-RATE-B', bookingId: 'BOK-1', resident: resident(1) }),
      ),
    );
    // B's five were answered while A's later calls still waited for their turn: 5 at once, then one every
    // 200 ms (the 15th 2 s after the first), and none of them at the producer before its time.
    expect(toB.map((o) => o.kind)).toEqual(Array(5).fill('found'));
    expect(time.waits()).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 200));
    expect(producer.requestsTo('SE-RATE-A').length).toBeLessThanOrEqual(5);
    time.advance(2_000);
    const outcomes = await Promise.all(toA);
    expect(outcomes.map((o) => o.kind)).toEqual(Array(15).fill('found'));
    expect(producer.requestsTo('SE-RATE-A')).toHaveLength(15);

    // 20 more at once as the 15th goes: the bucket is empty, so the first would wait 200 ms and the 12th
    // 2,400 ms; from the 13th on the wait would pass the 2.5 s slot wait: not sent at all.
    const late = Array.from({ length: 20 }, () =>
      client.fetch({ logicalAddress: 'SE-RATE-A', bookingId: 'BOK-1', resident: resident(1) }),
    );
    const refused = (await Promise.all(late.slice(12))).filter((o) => o.kind === 'transient' && o.notSent);
    expect(refused).toHaveLength(8);
    expect(refused[0]).toMatchObject({ reason: 'more than 5 calls a second to SE-RATE-A' });
    expect(time.waits()).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) * 200));
    time.advance(2_400);
    expect((await Promise.all(late.slice(0, 12))).map((o) => o.kind)).toEqual(Array(12).fill('found'));
    expect(producer.requestsTo('SE-RATE-A')).toHaveLength(27);

    // After a quiet spell the bucket is full again: 5 go at once.
    time.advance(10_000);
    const rested = await Promise.all(
      Array.from({ length: 5 }, () =>
        client.fetch({ logicalAddress: 'SE-RATE-A', bookingId: 'BOK-1', resident: resident(1) }),
      ),
    );
    expect(rested.map((o) => o.kind)).toEqual(Array(5).fill('found'));
    expect(time.waits()).toEqual([]);
  });
});
