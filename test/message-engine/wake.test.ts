// The engine is woken by its own process's ingest: a notification committed by ProcessNotification is taken
// at once, not at the engine's next poll. The engine here polls once an hour, so only the wake can explain a
// message within the test's time; real HTTP, a real local producer and the real database.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { sampleTimeslot, startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { engagement, notificationEnvelope, postNotification, TEST_SOURCE_SYSTEM } from '../helpers/soap.js';

const UNIT = 'SE2321000016-VC1';
const HOUR_MS = 3_600_000;
let producer: BookingProducer;
let t: TestApp;

beforeAll(async () => {
  producer = await startBookingProducer();
  t = await startTestApp({ NTJP_GETBOOKINGDETAILS_URL: producer.url }, { engine: { pollMs: HOUR_MS } });
  await t.activate(TEST_SOURCE_SYSTEM);
});
afterAll(async () => {
  await t?.close();
  await producer?.close();
});

async function kindsOf(resident: string): Promise<string[]> {
  const found = await rows<{ kind: string }>(
    t.database.orm,
    sql`select kind from inbox_message where resident = ${resident} order by id`,
  );
  return found.map((row) => row.kind);
}

it('When this process accepts a notification while its engine is idle, then the engine takes it without waiting for its poll', async () => {
  // Idle first: the engine's first round found nothing and now waits an hour.
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const [n, resident] of ['198001019999', '198001029998'].entries()) {
    producer.addBooking(
      UNIT,
      `WAKE-${n}`,
      sampleTimeslot({
        subjectOfCare: resident,
        startTimeInclusive: '20270115093000',
        endTimeExclusive: '20270115100000',
      }),
    );
    const answer = await postNotification(
      t.url,
      notificationEnvelope([
        engagement({
          registeredResidentIdentification: resident,
          logicalAddress: UNIT,
          businessObjectInstanceIdentifier: `WAKE-${n}`,
        }),
      ]),
    );
    expect(answer.resultCode).toBe('OK');
    // Far less than the hour the poll would take (a bound on waiting, not on speed).
    const deadline = Date.now() + 20_000;
    let kinds = await kindsOf(resident);
    while (kinds.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      kinds = await kindsOf(resident);
    }
    expect(kinds).toEqual(['booking_confirmation']);
  }
});
