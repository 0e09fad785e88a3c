// The per-care-unit call cap (NTJP_MAX_CALLS_PER_SECOND) against the worker's lease: a round never takes
// more calls to one care unit than the cap lets start well within the lease, and the lease is extended
// while the round waits on the cap or on a slow producer. Without either, a batch longer than the lease
// was taken over half-way by the other round, fetched again, and the first round's work thrown away
// (found in the resilience suite: a restarted service's first batch on PostgreSQL never drained).
// Real parts: the app over HTTP, a local producer, the test database (PGlite or DATABASE_URL).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { withinCallBudget } from '../../src/message-engine/process-batch.js';
import type { QueuedNotification } from '../../src/queue/in-database.js';
import { startBookingProducer, sampleTimeslot, type BookingProducer } from '../helpers/booking-producer.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { engagement, notificationEnvelope, postNotification, TEST_SOURCE_SYSTEM } from '../helpers/soap.js';

const CAPPED_UNIT = 'SE2321000016-CAP1';
const SLOW_UNIT = 'SE2321000016-CAP2';
const CALLS_PER_SECOND = 20;

function item(
  id: number,
  resident: string,
  address: string,
  bookingId: string,
  deleteFlag = false,
): QueuedNotification {
  return {
    id,
    keyHash: `${resident}/${address}/${bookingId}`,
    resident,
    sourceSystem: 'SYS',
    deleteFlag,
    deliveredMode: 'active',
    engagement: {
      logicalAddress: address,
      businessObjectInstanceIdentifier: bookingId,
      registeredResidentIdentification: resident,
    } as QueuedNotification['engagement'],
    receivedAt: new Date(0),
    attempts: 0,
  };
}

describe('withinCallBudget (which claimed items a round keeps under the per-unit call budget)', () => {
  const rowsOf = [
    {
      name: 'all within the budget: all kept',
      items: [item(1, 'a', 'U1', 'B1'), item(2, 'b', 'U1', 'B2')],
      budget: 2,
      kept: [1, 2],
    },
    {
      name: 'beyond the budget at one unit: the later citizens go back; another unit is not held back',
      items: [item(1, 'a', 'U1', 'B1'), item(2, 'b', 'U1', 'B2'), item(3, 'c', 'U1', 'B3'), item(4, 'd', 'U2', 'B4')],
      budget: 2,
      kept: [1, 2, 4],
    },
    {
      name: 'a delete needs no call: kept beyond the budget',
      items: [item(1, 'a', 'U1', 'B1'), item(2, 'b', 'U1', 'B2', true), item(3, 'c', 'U1', 'B3', true)],
      budget: 1,
      kept: [1, 2, 3],
    },
    {
      name: 'two items of one booking are one call',
      items: [item(1, 'a', 'U1', 'B1'), item(2, 'a', 'U1', 'B1'), item(3, 'b', 'U1', 'B2')],
      budget: 1,
      kept: [1, 2],
    },
    {
      name: 'a citizen is cut as a whole from its first item beyond the budget (its later delete waits too)',
      items: [
        item(1, 'a', 'U1', 'B1'),
        item(2, 'b', 'U1', 'B2'),
        item(3, 'a', 'U1', 'B3'),
        item(4, 'a', 'U2', 'B4', true),
        item(5, 'b', 'U2', 'B5'),
      ],
      budget: 2,
      kept: [1, 2, 5],
    },
    {
      name: 'the first call to each unit always fits (budget below one is one)',
      items: [item(1, 'a', 'U1', 'B1'), item(2, 'b', 'U2', 'B2')],
      budget: 1,
      kept: [1, 2],
    },
  ];
  for (const row of rowsOf) {
    it(row.name, () => {
      const { kept, over } = withinCallBudget(row.items, row.budget);
      expect(kept.map((i) => i.id)).toEqual(row.kept);
      expect(over.map((i) => i.id)).toEqual(row.items.map((i) => i.id).filter((id) => !row.kept.includes(id)));
    });
  }
});

describe('the call cap and a short lease, end to end', () => {
  let producer: BookingProducer;
  let t: TestApp;

  beforeAll(async () => {
    producer = await startBookingProducer();
    producer.handle((request) => ({
      // One care unit answers slower than the lease: the lease must be kept while its calls are under way.
      ...(request.logicalAddress === SLOW_UNIT ? { delayMs: 3_200 } : {}),
      details: sampleTimeslot({
        healthcareFacility: request.logicalAddress,
        subjectOfCare: request.actorId,
        startTimeInclusive: '20270115093000',
      }),
    }));
    t = await startTestApp(
      {
        NTJP_GETBOOKINGDETAILS_URL: producer.url,
        NTJP_MAX_CALLS_PER_SECOND: String(CALLS_PER_SECOND),
        // Two seconds: far shorter than the 100 calls of the first test take at 20 a second (and than the
        // slow unit's answer), and still kept on a loaded machine (with one second, the CI's load once let
        // a renewal come too late).
        WORKER_LEASE_SECONDS: '2',
        FLOOD_GUARD_THRESHOLD: '0',
      },
      { engine: { pollMs: 20 } },
    );
    await t.activate(TEST_SOURCE_SYSTEM);
  });
  afterAll(async () => {
    await t?.close();
    await producer?.close();
  });

  async function send(unit: string, prefix: string, count: number, perCall: number): Promise<string[]> {
    const residents: string[] = [];
    for (let start = 0; start < count; start += perCall) {
      const transactions = Array.from({ length: Math.min(perCall, count - start) }, (_, i) => {
        const n = start + i;
        const resident = `1980010${prefix}${String(n).padStart(4, '0')}`;
        residents.push(resident);
        return engagement({
          registeredResidentIdentification: resident,
          logicalAddress: unit,
          sourceSystem: TEST_SOURCE_SYSTEM,
          businessObjectInstanceIdentifier: `${prefix}-${n}`,
        });
      });
      const answer = await postNotification(t.url, notificationEnvelope(transactions));
      expect(answer.resultCode, answer.comment ?? answer.faultstring).toBe('OK');
    }
    return residents;
  }

  async function drained(unit: string): Promise<number> {
    // A bound on waiting, not on speed: a lost batch that is redone over and over never drains.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await rows<{ n: number }>(
        t.database.orm,
        sql`select count(*)::int as n from inbound_notification where status <> 'done' and engagement->>'logicalAddress' = ${unit}`,
      );
      if (Number(row!.n) === 0 || Date.now() > deadline) return Number(row!.n);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function messagesPerResident(residents: readonly string[]): Promise<Map<string, string[]>> {
    const found = await rows<{ resident: string; kind: string }>(
      t.database.orm,
      sql`select resident, kind from inbox_message where resident in (select jsonb_array_elements_text(${JSON.stringify(residents)}::jsonb)) order by id`,
    );
    const byResident = new Map<string, string[]>();
    for (const row of found) byResident.set(row.resident, [...(byResident.get(row.resident) ?? []), row.kind]);
    return byResident;
  }

  it(`When 100 bookings at one care unit arrive at once with a cap of ${CALLS_PER_SECOND} calls a second and a 2 s lease, then each is fetched once and gives one confirmation, and no batch is taken over`, async () => {
    const residents = await send(CAPPED_UNIT, '1', 100, 25);
    expect(await drained(CAPPED_UNIT)).toBe(0);
    const messages = await messagesPerResident(residents);
    expect(residents.map((r) => messages.get(r) ?? [])).toEqual(residents.map(() => ['booking_confirmation']));
    // Each booking asked for once: no round's work was lost and redone.
    expect(producer.requestsTo(CAPPED_UNIT)).toHaveLength(100);
    expect(t.logs.filter((line) => line.msg === 'batch taken over; it will be picked up again')).toEqual([]);
  }, 90_000);

  it('When a care unit answers slower than the lease, then the lease is kept: each booking is fetched once and gives one confirmation', async () => {
    const residents = await send(SLOW_UNIT, '2', 4, 4);
    expect(await drained(SLOW_UNIT)).toBe(0);
    const messages = await messagesPerResident(residents);
    expect(residents.map((r) => messages.get(r) ?? [])).toEqual(residents.map(() => ['booking_confirmation']));
    expect(producer.requestsTo(SLOW_UNIT)).toHaveLength(4);
    expect(t.logs.filter((line) => line.msg === 'batch taken over; it will be picked up again')).toEqual([]);
  }, 60_000);
});
