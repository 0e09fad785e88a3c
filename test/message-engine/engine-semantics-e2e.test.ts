// End to end under the real Engagement Index's semantics: notifications shaped the way EI sends them
// (identical on in-place changes, time fields absent, new post listed before the delete, retried older
// calls, "not found", silent loads processed after the switch, one care unit down or one booking
// poisonous). ProcessNotification over HTTP, the real queue and database, a real local GetBookingDetails
// producer; each case asserts the exact message kinds in order and the citizen's upcoming bookings.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { sourceSystems } from '../../src/activation-registry/schema.js';
import { bearer, citizenToken } from '../helpers/auth.js';
import {
  startBookingProducer,
  sampleTimeslot,
  type BookingProducer,
  type TimeslotInput,
} from '../helpers/booking-producer.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { dueHeldCancellations } from '../helpers/database.js';
import {
  engagement,
  notificationEnvelope,
  postNotification,
  TEST_SOURCE_SYSTEM,
  type EngagementInput,
} from '../helpers/soap.js';
import { eq } from 'drizzle-orm';

const REBOOK_WINDOW_SECONDS = 2;
const REDELIVERY_WINDOW_SECONDS = 3;
const UNIT = 'SE2321000016-EV1';
const OTHER_UNIT = 'SE2321000016-EV2';
/** Units whose producer is made to fail for a while get their own address (their breaker opens). */
const SILENT_UNIT = 'SE2321000016-EV5';
const OUTAGE_UNIT = 'SE2321000016-EV9';
let producer: BookingProducer;
let t: TestApp;

beforeAll(async () => {
  producer = await startBookingProducer();
  t = await startTestApp(
    {
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      REBOOK_WINDOW_SECONDS: String(REBOOK_WINDOW_SECONDS),
      REDELIVERY_WINDOW_SECONDS: String(REDELIVERY_WINDOW_SECONDS),
    },
    { engine: { pollMs: 20 } },
  );
  await t.activate(TEST_SOURCE_SYSTEM);
});
afterAll(async () => {
  await t?.close();
  await producer?.close();
});

let citizenCounter = 0;
function newCitizen(): string {
  citizenCounter++;
  return `19750101${String(2000 + citizenCounter).slice(-4)}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function kindsOf(resident: string): Promise<string[]> {
  const found = await rows<{ kind: string }>(
    t.database.orm,
    sql`select kind from inbox_message where resident = ${resident} order by id`,
  );
  return found.map((row) => row.kind);
}

async function pendingOf(resident: string): Promise<number> {
  const [row] = await rows<{ n: number }>(
    t.database.orm,
    sql`select count(*)::int as n from inbound_notification where resident = ${resident} and status = 'pending'`,
  );
  return Number(row!.n);
}

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

const settled = (resident: string) =>
  waitFor(
    () => pendingOf(resident),
    (n) => n === 0,
  );

/** Past the rebooking window (and the release), then until nothing is pending. */
async function afterRebookWindow(resident: string): Promise<void> {
  await sleep(REBOOK_WINDOW_SECONDS * 1000 + 1500);
  await settled(resident);
  // The release sweep runs apart from the queue: wait for it too (a loaded machine can be seconds late).
  await waitFor(
    () => dueHeldCancellations(t.database, resident),
    (n) => n === 0,
  );
}

/** Past the redelivery window: an identical notification is then processed, not taken for a redelivery. */
const afterRedeliveryWindow = () => sleep(REDELIVERY_WINDOW_SECONDS * 1000 + 300);

/** The citizen's upcoming bookings as /api/citizen/bookings lists them: booking ids with their starts. */
async function upcoming(resident: string): Promise<string[]> {
  const token = await citizenToken(t.app.config, resident);
  const response = await fetch(`${t.url}/api/citizen/bookings`, { headers: bearer(token) });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { items: { bookingId: string; start: string }[] };
  return body.items.map((item) => `${item.bookingId}@${item.start}`);
}

function post(resident: string, overrides: EngagementInput = {}): EngagementInput {
  return engagement({ registeredResidentIdentification: resident, logicalAddress: UNIT, ...overrides });
}

/** A post as EI sends it when the producer gives no times at all (EI's own sample bodies). */
function bare(resident: string, overrides: EngagementInput = {}): EngagementInput {
  const value = post(resident, overrides);
  delete value.mostRecentContent;
  delete value.creationTime;
  delete value.updateTime;
  return value;
}

function slot(resident: string, overrides: TimeslotInput = {}): TimeslotInput {
  return sampleTimeslot({
    subjectOfCare: resident,
    startTimeInclusive: '20270115093000',
    endTimeExclusive: '20270115100000',
    healthcareFacilityName: 'Vårdcentralen Granen',
    ...overrides,
  });
}
const NEW_TIME = { startTimeInclusive: '20270120140000', endTimeExclusive: '20270120143000' };
const PASSED_TIME = { startTimeInclusive: '20250101090000', endTimeExclusive: '20250101093000' };

async function send(...transactions: EngagementInput[]): Promise<string> {
  const answer = await postNotification(t.url, notificationEnvelope(transactions));
  expect(answer.resultCode, answer.comment ?? answer.faultstring).toBe('OK');
  return answer.comment ?? '';
}

describe('1. in-place changes: an identical notification after the redelivery window is processed', () => {
  it.each([
    ['UC6 citizen rebooks in place', 'time fields identical'],
    ['UC6 citizen rebooks in place', 'time fields absent'],
    ['UC9 staff rebook in place', 'time fields identical'],
    ['UC9 staff rebook in place', 'time fields absent'],
  ])(
    '%s, %s: When the same post is re-sent identically and the producer has a new time, then one rebooking',
    async (_name, shape) => {
      const resident = newCitizen();
      const id = `IP-${resident}`;
      const notification =
        shape === 'time fields absent'
          ? bare(resident, { businessObjectInstanceIdentifier: id })
          : post(resident, { businessObjectInstanceIdentifier: id });
      producer.addBooking(UNIT, id, slot(resident));
      await send(notification);
      await settled(resident);
      await afterRedeliveryWindow();
      producer.addBooking(
        UNIT,
        id,
        slot(resident, _name.startsWith('UC9') ? { ...NEW_TIME, performer: 'SE2321000016-P999' } : NEW_TIME),
      );
      expect(await send(notification)).toContain('already received 0');
      await settled(resident);
      expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'rebooking']);
      expect(await upcoming(resident)).toEqual([`${id}@2027-01-20T13:00:00.000Z`]);
    },
  );

  it.each(['time fields identical', 'time fields absent'])(
    'UC11 staff update an invitation in place, %s: When re-sent identically with a new time at the producer, then one invitation_updated',
    async (shape) => {
      const resident = newCitizen();
      const id = `IPK-${resident}`;
      const fields = { categorization: 'Invitation', businessObjectInstanceIdentifier: id };
      const notification = shape === 'time fields absent' ? bare(resident, fields) : post(resident, fields);
      producer.addBooking(
        UNIT,
        id,
        slot(resident, { isInvitation: true, startTimeInclusive: undefined, endTimeExclusive: undefined }),
      );
      await send(notification);
      await settled(resident);
      await afterRedeliveryWindow();
      producer.addBooking(UNIT, id, slot(resident, { isInvitation: true }));
      await send(notification);
      await settled(resident);
      expect(await kindsOf(resident)).toEqual(['invitation', 'invitation_updated']);
    },
  );

  it('When the identical notification comes again inside the redelivery window, then it is a redelivery: nothing queued, the producer not asked', async () => {
    const resident = newCitizen();
    const id = `RD-${resident}`;
    producer.addBooking(UNIT, id, slot(resident));
    await send(post(resident, { businessObjectInstanceIdentifier: id }));
    await settled(resident);
    const asked = producer.requests.filter((r) => r.bookingId === id).length;
    expect(await send(post(resident, { businessObjectInstanceIdentifier: id }))).toContain('already received 1');
    await settled(resident);
    expect(producer.requests.filter((r) => r.bookingId === id).length).toBe(asked);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation']);
  });

  it('When the identical notification comes after the window and the producer has not changed (a reload), then it is fetched and no message', async () => {
    const resident = newCitizen();
    const id = `RL-${resident}`;
    producer.addBooking(UNIT, id, slot(resident));
    await send(bare(resident, { businessObjectInstanceIdentifier: id }));
    await settled(resident);
    await afterRedeliveryWindow();
    const asked = producer.requests.filter((r) => r.bookingId === id).length;
    await send(bare(resident, { businessObjectInstanceIdentifier: id }));
    await settled(resident);
    expect(producer.requests.filter((r) => r.bookingId === id).length).toBe(asked + 1);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation']);
    expect(await upcoming(resident)).toEqual([`${id}@2027-01-15T08:30:00.000Z`]);
  });
});

describe('2. a call is applied deletes first', () => {
  it('UC7: When one call lists the new booking before the delete, then one rebooking', async () => {
    const resident = newCitizen();
    const old = post(resident, { businessObjectInstanceIdentifier: `O2-${resident}` });
    producer.addBooking(UNIT, `O2-${resident}`, slot(resident));
    await send(old);
    await settled(resident);
    producer.removeBooking(UNIT, `O2-${resident}`);
    producer.addBooking(UNIT, `N2-${resident}`, slot(resident, NEW_TIME));
    await send(post(resident, { businessObjectInstanceIdentifier: `N2-${resident}` }), { ...old, deleteFlag: true });
    await afterRebookWindow(resident);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'rebooking']);
    expect(await upcoming(resident)).toEqual([`N2-${resident}@2027-01-20T13:00:00.000Z`]);
  });

  it('UC11: When one call lists the new invitation before the delete of the old, then one invitation_updated', async () => {
    const resident = newCitizen();
    const first = post(resident, { categorization: 'Invitation', businessObjectInstanceIdentifier: `KA2-${resident}` });
    producer.addBooking(
      UNIT,
      `KA2-${resident}`,
      slot(resident, { isInvitation: true, startTimeInclusive: undefined, endTimeExclusive: undefined }),
    );
    await send(first);
    await settled(resident);
    producer.addBooking(UNIT, `KB2-${resident}`, slot(resident, { isInvitation: true }));
    await send(post(resident, { categorization: 'Invitation', businessObjectInstanceIdentifier: `KB2-${resident}` }), {
      ...first,
      deleteFlag: true,
    });
    await afterRebookWindow(resident);
    expect(await kindsOf(resident)).toEqual(['invitation', 'invitation_updated']);
  });
});

describe('3. a retried older call never undoes newer state', () => {
  it('When EI retries the delete call after the post was created again (in separate calls), then no cancellation and the booking stays listed', async () => {
    const resident = newCitizen();
    const id = `R3-${resident}`;
    const booking = bare(resident, { businessObjectInstanceIdentifier: id });
    producer.addBooking(UNIT, id, slot(resident));
    await send(booking);
    await settled(resident);
    await afterRedeliveryWindow();
    await send({ ...booking, deleteFlag: true });
    await settled(resident);
    producer.addBooking(UNIT, id, slot(resident, NEW_TIME));
    await send(booking);
    await settled(resident);
    expect(await send({ ...booking, deleteFlag: true })).toContain('already received 1');
    await afterRebookWindow(resident);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'rebooking']);
    expect(await upcoming(resident)).toEqual([`${id}@2027-01-20T13:00:00.000Z`]);
  });

  it('When EI retries a call that deleted and created the post (in one call), then nothing more happens', async () => {
    const resident = newCitizen();
    const id = `R3C-${resident}`;
    const booking = post(resident, { businessObjectInstanceIdentifier: id });
    producer.addBooking(UNIT, id, slot(resident));
    await send(booking);
    await settled(resident);
    producer.addBooking(UNIT, id, slot(resident, NEW_TIME));
    const call = notificationEnvelope([{ ...booking, deleteFlag: true }, booking]);
    await postNotification(t.url, call);
    await settled(resident);
    expect((await postNotification(t.url, call)).comment).toContain('already received 2');
    await afterRebookWindow(resident);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'rebooking']);
    expect(await upcoming(resident)).toEqual([`${id}@2027-01-20T13:00:00.000Z`]);
  });

  it('When EI retries the creating call after the cancellation, then the cancelled time is not listed again and no second message', async () => {
    const resident = newCitizen();
    const id = `R3D-${resident}`;
    const booking = bare(resident, { businessObjectInstanceIdentifier: id });
    producer.addBooking(UNIT, id, slot(resident));
    await send(booking);
    await settled(resident);
    producer.removeBooking(UNIT, id);
    await send({ ...booking, deleteFlag: true });
    expect(await send(booking)).toContain('already received 1');
    await afterRebookWindow(resident);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'cancellation']);
    expect(await upcoming(resident)).toEqual([]);
  });
});

describe('4. "not found" never brings a booking back', () => {
  it('When a cancelled booking is notified again (after the window) and the producer answers not found, then it stays cancelled', async () => {
    const resident = newCitizen();
    const id = `NF-${resident}`;
    const booking = bare(resident, { businessObjectInstanceIdentifier: id });
    producer.addBooking(UNIT, id, slot(resident));
    await send(booking);
    await settled(resident);
    producer.removeBooking(UNIT, id);
    await send({ ...booking, deleteFlag: true });
    await afterRebookWindow(resident);
    await afterRedeliveryWindow();
    await send(booking);
    await settled(resident);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'cancellation']);
    expect(await upcoming(resident)).toEqual([]);
  });

  it('When one call deletes a booking and re-creates it but the producer answers not found, then a cancellation and nothing listed', async () => {
    const resident = newCitizen();
    const id = `NF1-${resident}`;
    const booking = post(resident, { businessObjectInstanceIdentifier: id });
    producer.addBooking(UNIT, id, slot(resident));
    await send(booking);
    await settled(resident);
    producer.removeBooking(UNIT, id);
    await send(booking, { ...booking, deleteFlag: true, updateTime: '20261122120000' });
    await afterRebookWindow(resident);
    expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'cancellation']);
    expect(await upcoming(resident)).toEqual([]);
  });
});

describe('5. the mode at delivery decides silent or active', () => {
  it('When a silent load is processed after the switch to active, then no message; a change delivered after the switch is told', async () => {
    const system = 'SE-SILENT-LOAD';
    const id = await t.activate(system, 'silent');
    const residents = [newCitizen(), newCitizen(), newCitizen()];
    // The producer holds the load back until the system is active: processing comes after the switch.
    let open = false;
    producer.handle((request) =>
      !open && request.bookingId?.startsWith('SL-') ? { status: 503, body: 'busy' } : undefined,
    );
    try {
      for (const resident of residents) producer.addBooking(SILENT_UNIT, `SL-${resident}`, slot(resident));
      await send(
        ...residents.map((resident) =>
          post(resident, {
            sourceSystem: system,
            logicalAddress: SILENT_UNIT,
            businessObjectInstanceIdentifier: `SL-${resident}`,
          }),
        ),
      );
      await waitFor(
        () =>
          rows<{ n: number }>(
            t.database.orm,
            sql`select count(*)::int as n from inbound_notification where source_system = ${system} and attempts > 0`,
          ),
        (r) => Number(r[0]!.n) === residents.length,
      );
      await t.database.orm.update(sourceSystems).set({ mode: 'active' }).where(eq(sourceSystems.id, id));
      await t.app.directory.refresh();
      open = true;
      for (const resident of residents)
        await waitFor(
          () => pendingOf(resident),
          (n) => n === 0,
          90_000,
        );
    } finally {
      producer.handle(undefined);
    }
    for (const resident of residents) {
      expect(await kindsOf(resident)).toEqual([]);
      expect(await upcoming(resident)).toEqual([`SL-${resident}@2027-01-15T08:30:00.000Z`]);
    }
    // Delivered after the switch: the change is told.
    const [first] = residents;
    producer.addBooking(SILENT_UNIT, `SL-${first}`, slot(first!, NEW_TIME));
    await send(
      post(first!, {
        sourceSystem: system,
        logicalAddress: SILENT_UNIT,
        businessObjectInstanceIdentifier: `SL-${first}`,
        updateTime: '20261122130000',
      }),
    );
    await settled(first!);
    expect(await kindsOf(first!)).toEqual(['rebooking']);
  }, 150_000);
});

describe('6. one care unit down or one poison booking delays nothing else', () => {
  it('When another unit of the citizen is down, then a held cancellation is a message within seconds of its window, and a new booking at the working unit is confirmed', async () => {
    const resident = newCitizen();
    const id = `C6-${resident}`;
    producer.addBooking(UNIT, id, slot(resident));
    await send(post(resident, { businessObjectInstanceIdentifier: id }));
    await settled(resident);
    let down = true;
    producer.handle((request) =>
      down && request.logicalAddress === OTHER_UNIT ? { status: 503, body: 'down' } : undefined,
    );
    try {
      // Before the delete: a new booking at the unit that is down, and one at the working unit.
      producer.addBooking(OTHER_UNIT, `D6-${resident}`, slot(resident, NEW_TIME));
      await send(post(resident, { businessObjectInstanceIdentifier: `D6-${resident}`, logicalAddress: OTHER_UNIT }));
      producer.addBooking(
        UNIT,
        `G6-${resident}`,
        slot(resident, { startTimeInclusive: '20270301080000', endTimeExclusive: '20270301083000' }),
      );
      await send(post(resident, { businessObjectInstanceIdentifier: `G6-${resident}` }));
      // The delete, then (inside its window) a new booking at the unit that is down.
      producer.removeBooking(UNIT, id);
      await send({ ...post(resident, { businessObjectInstanceIdentifier: id }), deleteFlag: true });
      producer.addBooking(
        OTHER_UNIT,
        `D6B-${resident}`,
        slot(resident, { startTimeInclusive: '20270125140000', endTimeExclusive: '20270125143000' }),
      );
      await send(post(resident, { businessObjectInstanceIdentifier: `D6B-${resident}`, logicalAddress: OTHER_UNIT }));
      const kinds = await waitFor(
        () => kindsOf(resident),
        (list) => list.includes('cancellation'),
        20_000,
      );
      // Told while the other unit is still down: nothing of this citizen waited for it.
      const [row] = await rows<{ delay_ms: number; waiting: number }>(
        t.database.orm,
        sql`select extract(epoch from (m.created_at - h.due_at)) * 1000 as delay_ms,
                   (select count(*)::int from inbound_notification n where n.resident = ${resident} and n.status = 'pending' and n.attempts > 0) as waiting
            from inbox_message m join held_cancellation h on m.cause = 'held:' || h.id where m.resident = ${resident} and m.kind = 'cancellation'`,
      );
      console.log(
        `[case 6] cancellation ${Math.round(Number(row!.delay_ms))} ms after its window ended, with ${row!.waiting} notification(s) of the down unit waiting`,
      );
      expect(kinds).toEqual(['booking_confirmation', 'booking_confirmation', 'cancellation']);
      expect(Number(row!.waiting)).toBe(2);
    } finally {
      down = false;
      producer.handle(undefined);
    }
    // Once the unit answers, its bookings are confirmed (no longer a rebooking: the cancellation was told).
    await waitFor(
      () => kindsOf(resident),
      (list) => list.length === 5,
      100_000,
    );
    expect(await kindsOf(resident)).toEqual([
      'booking_confirmation',
      'booking_confirmation',
      'cancellation',
      'booking_confirmation',
      'booking_confirmation',
    ]);
    expect((await upcoming(resident)).map((item) => item.split('@')[0])).toEqual([
      `D6-${resident}`,
      `D6B-${resident}`,
      `G6-${resident}`,
    ]);
  }, 150_000);

  it('When one call deletes a booking and adds one at a unit that is down, then the cancellation is told on time and the new booking once its unit answers', async () => {
    const resident = newCitizen();
    const id = `C61-${resident}`;
    producer.addBooking(UNIT, id, slot(resident));
    await send(post(resident, { businessObjectInstanceIdentifier: id }));
    await settled(resident);
    let down = true;
    producer.handle((request) =>
      down && request.logicalAddress === OTHER_UNIT ? { status: 503, body: 'down' } : undefined,
    );
    try {
      producer.removeBooking(UNIT, id);
      producer.addBooking(OTHER_UNIT, `D61-${resident}`, slot(resident, NEW_TIME));
      await send(post(resident, { businessObjectInstanceIdentifier: `D61-${resident}`, logicalAddress: OTHER_UNIT }), {
        ...post(resident, { businessObjectInstanceIdentifier: id }),
        deleteFlag: true,
      });
      expect(
        await waitFor(
          () => kindsOf(resident),
          (list) => list.length === 2,
          20_000,
        ),
      ).toEqual(['booking_confirmation', 'cancellation']);
      expect(await pendingOf(resident)).toBe(1);
    } finally {
      down = false;
      producer.handle(undefined);
    }
    await waitFor(
      () => kindsOf(resident),
      (list) => list.length === 3,
      100_000,
    );
    expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'cancellation', 'booking_confirmation']);
    expect((await upcoming(resident)).map((item) => item.split('@')[0])).toEqual([`D61-${resident}`]);
  }, 150_000);

  it('When one booking keeps faulting, then the care unit breaker stays closed and another booking there (same citizen too) is confirmed', async () => {
    const resident = newCitizen();
    const poison = Array.from({ length: 7 }, (_, i) => `P6-${i}-${resident}`);
    producer.handle((request) =>
      request.bookingId?.startsWith('P6-') ? { fault: 'java.lang.NullPointerException at BookingService' } : undefined,
    );
    try {
      await send(...poison.map((id) => post(resident, { businessObjectInstanceIdentifier: id })));
      await waitFor(
        () =>
          rows<{ n: number }>(
            t.database.orm,
            sql`select count(*)::int as n from inbound_notification where resident = ${resident} and attempts > 0`,
          ),
        (r) => Number(r[0]!.n) === poison.length,
      );
      producer.addBooking(UNIT, `OK6-${resident}`, slot(resident));
      await send(post(resident, { businessObjectInstanceIdentifier: `OK6-${resident}` }));
      const kinds = await waitFor(
        () => kindsOf(resident),
        (list) => list.length === 1,
      );
      expect(kinds).toEqual(['booking_confirmation']);
      // The good booking's call was made (not refused by an open breaker), with the poison still waiting.
      expect(producer.requests.some((r) => r.bookingId === `OK6-${resident}`)).toBe(true);
      expect(await pendingOf(resident)).toBe(poison.length);
      expect(t.logs.some((line) => String(line.msg).includes(`circuit open for ${UNIT}`))).toBe(false);
    } finally {
      producer.handle(undefined);
    }
    // The poison bookings do not become dead letters while they wait (time-bounded retries).
    const [dead] = await rows<{ n: number }>(
      t.database.orm,
      sql`select count(*)::int as n from inbound_notification where resident = ${resident} and status = 'dead'`,
    );
    expect(Number(dead!.n)).toBe(0);
  });
});

describe('7. a delete followed by a new post whose time has passed', () => {
  it.each([
    ['in one call', false],
    ['in two calls', true],
  ])(
    '%s: When a booking is deleted and a new post at a passed time follows, then the citizen still gets the cancellation',
    async (_how, apart) => {
      const resident = newCitizen();
      const old = post(resident, { businessObjectInstanceIdentifier: `O7-${resident}` });
      producer.addBooking(UNIT, `O7-${resident}`, slot(resident));
      await send(old);
      await settled(resident);
      producer.removeBooking(UNIT, `O7-${resident}`);
      producer.addBooking(UNIT, `N7-${resident}`, slot(resident, PASSED_TIME));
      const added = post(resident, { businessObjectInstanceIdentifier: `N7-${resident}` });
      if (apart) {
        await send({ ...old, deleteFlag: true });
        await send(added);
      } else {
        await send(added, { ...old, deleteFlag: true });
      }
      await afterRebookWindow(resident);
      expect(await kindsOf(resident)).toEqual(['booking_confirmation', 'cancellation']);
      expect(await upcoming(resident)).toEqual([]);
    },
  );
});

describe('outage: a producer down for a while (short form of the resilience scenario)', () => {
  it('When the producer answers 503 for 15 s, then every acknowledged notification becomes exactly one message after it returns, and none is a dead letter', async () => {
    const residents = Array.from({ length: 10 }, () => newCitizen());
    let down = true;
    producer.handle((request) =>
      down && request.bookingId?.startsWith('OUT-') ? { status: 503, body: 'down' } : undefined,
    );
    try {
      for (const resident of residents) producer.addBooking(OUTAGE_UNIT, `OUT-${resident}`, slot(resident));
      await send(
        ...residents.map((resident) =>
          post(resident, { logicalAddress: OUTAGE_UNIT, businessObjectInstanceIdentifier: `OUT-${resident}` }),
        ),
      );
      await sleep(15_000);
      const [during] = await rows<{ dead: number; messages: number }>(
        t.database.orm,
        sql`select (select count(*)::int from inbound_notification n where n.status = 'dead' and n.engagement->>'businessObjectInstanceIdentifier' like 'OUT-%') as dead,
                   (select count(*)::int from inbox_message m where m.booking->>'bookingId' like 'OUT-%') as messages`,
      );
      expect(during).toEqual({ dead: 0, messages: 0 });
      // Operators see what waits, per logical address, and for how long.
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toContain(`ei_queue_waiting_for_producer{logical_address="${OUTAGE_UNIT}"} ${residents.length}`);
      const age = Number(
        new RegExp(
          `ei_queue_waiting_for_producer_oldest_age_seconds\\{logical_address="${OUTAGE_UNIT}"\\} (\\d+)`,
        ).exec(metrics)?.[1],
      );
      expect(age).toBeGreaterThanOrEqual(14);
      const ready = (await (await fetch(`${t.url}/readyz`)).json()) as {
        status: string;
        checks: { waitingForProducer: { byAddress: { logicalAddress: string; waiting: number }[] } };
      };
      expect(ready.status).toBe('ready');
      expect(ready.checks.waitingForProducer.byAddress).toContainEqual(
        expect.objectContaining({ logicalAddress: OUTAGE_UNIT, waiting: residents.length }),
      );
    } finally {
      down = false;
      producer.handle(undefined);
    }
    for (const resident of residents)
      await waitFor(
        () => pendingOf(resident),
        (n) => n === 0,
        100_000,
      );
    for (const resident of residents) expect(await kindsOf(resident)).toEqual(['booking_confirmation']);
  }, 200_000);
});
