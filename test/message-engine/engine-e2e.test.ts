// End to end: ProcessNotification over HTTP -> queue -> a real local GetBookingDetails producer -> the
// inbox rows, for every use case, including the two-step ones in one call and in two calls apart.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { adminToken, bearer } from '../helpers/auth.js';
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

const WINDOW_SECONDS = 2;
const UNIT = 'SE2321000016-VC1';
const OTHER_UNIT = 'SE2321000016-VC2';
let producer: BookingProducer;
let t: TestApp;
/** Moves the engine's clock (for times that pass); the rebooking window runs on real time. */
let clockOffsetMs = 0;

beforeAll(async () => {
  producer = await startBookingProducer();
  t = await startTestApp(
    { NTJP_GETBOOKINGDETAILS_URL: producer.url, REBOOK_WINDOW_SECONDS: String(WINDOW_SECONDS) },
    { engine: { pollMs: 20, now: () => new Date(Date.now() + clockOffsetMs) } },
  );
  await t.activate(TEST_SOURCE_SYSTEM);
});
afterAll(async () => {
  await t?.close();
  await producer?.close();
});

let citizenCounter = 0;
/** A citizen of its own for each test, so that tests do not see each other's messages. */
function newCitizen(): string {
  citizenCounter++;
  return `19800101${String(1000 + citizenCounter).slice(-4)}`;
}

interface MessageRow {
  id: number;
  kind: string;
  subject: string;
  body: string;
  care_unit_hsa_id: string;
  care_unit_name: string | null;
  booking: Record<string, unknown>;
}

async function messagesOf(resident: string): Promise<MessageRow[]> {
  const found = await rows<MessageRow>(
    t.database.orm,
    sql`select id::int, kind, subject, body, care_unit_hsa_id, care_unit_name, booking from inbox_message where resident = ${resident} order by id`,
  );
  return found.map((row) => ({
    ...row,
    booking: typeof row.booking === 'string' ? JSON.parse(row.booking) : row.booking,
  }));
}

async function pendingOf(resident: string): Promise<number> {
  const [row] = await rows<{ n: number }>(
    t.database.orm,
    sql`select count(*)::int as n from inbound_notification where resident = ${resident} and status = 'pending'`,
  );
  return Number(row!.n);
}

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until every notification of the citizen is processed. */
async function settled(resident: string): Promise<void> {
  await waitFor(
    () => pendingOf(resident),
    (n) => n === 0,
  );
}

/** Waits past the rebooking window (and the release sweep), then until nothing is pending. */
async function afterWindow(resident: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000 + 1500));
  await settled(resident);
  // The release sweep runs apart from the queue: wait for it too (a loaded machine can be seconds late).
  await waitFor(
    () => dueHeldCancellations(t.database, resident),
    (n) => n === 0,
  );
}

function post(resident: string, overrides: EngagementInput = {}): EngagementInput {
  return engagement({ registeredResidentIdentification: resident, logicalAddress: UNIT, ...overrides });
}

let updateCounter = 0;
/** A later version of a post (EI's updateTime moves on). */
function updated(input: EngagementInput): EngagementInput {
  updateCounter++;
  return { ...input, updateTime: `202611221${String(10000 + updateCounter).slice(-5)}` };
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

async function send(...transactions: EngagementInput[]): Promise<void> {
  const answer = await postNotification(t.url, notificationEnvelope(transactions));
  expect(answer.resultCode, answer.comment ?? answer.faultstring).toBe('OK');
}

describe('message engine, end to end', () => {
  it('UC1: When staff send an invitation, then the citizen gets one invitation and a care-unit relation', async () => {
    const resident = newCitizen();
    producer.addBooking(UNIT, 'KAL-1', slot(resident, { isInvitation: true }));
    await send(post(resident, { categorization: 'Invitation', businessObjectInstanceIdentifier: 'KAL-1' }));
    await settled(resident);
    const messages = await messagesOf(resident);
    expect(messages.map((m) => m.kind)).toEqual(['invitation']);
    expect(messages[0]!.subject).toBe('Kallelse från Vårdcentralen Granen');
    const relations = await rows<{ care_unit_hsa_id: string; care_unit_name: string }>(
      t.database.orm,
      sql`select care_unit_hsa_id, care_unit_name from care_unit_relation where resident = ${resident}`,
    );
    expect(relations).toEqual([{ care_unit_hsa_id: UNIT, care_unit_name: 'Vårdcentralen Granen' }]);
  });

  it('UC2: When a citizen books a time, then one booking confirmation in Swedish local time, fetched with the right headers', async () => {
    const resident = newCitizen();
    producer.addBooking(UNIT, 'BOK-2', slot(resident));
    await send(post(resident, { businessObjectInstanceIdentifier: 'BOK-2' }));
    await settled(resident);
    const [message, ...rest] = await messagesOf(resident);
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ kind: 'booking_confirmation', care_unit_hsa_id: UNIT });
    expect(message!.subject).toBe('Bokningsbekräftelse fredag 15 januari 2027 kl. 09:30–10:00');
    expect(message!.body).toContain('Vårdtyp: Läkarbesök');
    expect(message!.body).toContain('Syfte: Återbesök');
    expect(message!.booking).toMatchObject({
      start: '2027-01-15T08:30:00.000Z',
      end: '2027-01-15T09:00:00.000Z',
      cancelAllowed: true,
    });
    const call = producer.requests.find((request) => request.bookingId === 'BOK-2' && request.actorId === resident);
    expect(call).toMatchObject({
      logicalAddress: UNIT,
      healthcareFacility: UNIT,
      actorType: 'subject_of_care',
      consumerHsaId: 'SE-TEST-INBOX',
    });
  });

  it.each(['UC3 citizen cancels', 'UC4 staff cancel'])(
    '%s: When a booking is deleted and nothing follows, then one cancellation after the window, saying which time',
    async () => {
      const resident = newCitizen();
      const booking = post(resident, { businessObjectInstanceIdentifier: `BOK-3-${resident}` });
      producer.addBooking(UNIT, `BOK-3-${resident}`, slot(resident));
      await send(booking);
      await settled(resident);
      producer.removeBooking(UNIT, `BOK-3-${resident}`);
      await send({ ...booking, deleteFlag: true });
      await settled(resident);
      expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['booking_confirmation']);
      // Released once the window has passed (waited for, not timed: a loaded machine only makes it later).
      const messages = await waitFor(
        () => messagesOf(resident),
        (list) => list.length === 2,
        25_000,
      );
      expect(messages.map((m) => m.kind)).toEqual(['booking_confirmation', 'cancellation']);
      expect(messages[1]!.body).toContain('Avbokad tid: fredag 15 januari 2027 kl. 09:30–10:00');
    },
  );

  it.each(['UC5 staff withdraw an invitation', 'UC13 an invitation expires'])(
    '%s: When an invitation is deleted, then no message',
    async () => {
      const resident = newCitizen();
      const invitation = post(resident, {
        categorization: 'Invitation',
        businessObjectInstanceIdentifier: `KAL-5-${resident}`,
      });
      producer.addBooking(UNIT, `KAL-5-${resident}`, slot(resident, { isInvitation: true }));
      await send(invitation);
      await settled(resident);
      await send({ ...invitation, deleteFlag: true });
      await afterWindow(resident);
      expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['invitation']);
    },
  );

  it.each(['UC6 citizen rebooks', 'UC9 staff rebook'])(
    '%s, same booking id: When the post is updated with a new time, then one rebooking with old and new time',
    async () => {
      const resident = newCitizen();
      const booking = post(resident, { businessObjectInstanceIdentifier: `BOK-6-${resident}` });
      producer.addBooking(UNIT, `BOK-6-${resident}`, slot(resident));
      await send(booking);
      await settled(resident);
      producer.addBooking(
        UNIT,
        `BOK-6-${resident}`,
        slot(resident, { startTimeInclusive: '20270120140000', endTimeExclusive: '20270120143000' }),
      );
      await send(updated(booking));
      await afterWindow(resident);
      const messages = await messagesOf(resident);
      expect(messages.map((m) => m.kind)).toEqual(['booking_confirmation', 'rebooking']);
      expect(messages[1]!.body).toContain('Tidigare tid: fredag 15 januari 2027 kl. 09:30–10:00');
      expect(messages[1]!.body).toContain('Ny tid: onsdag 20 januari 2027 kl. 14:00–14:30');
      expect(messages[1]!.booking).toMatchObject({
        previousStart: '2027-01-15T08:30:00.000Z',
        start: '2027-01-20T13:00:00.000Z',
      });
    },
  );

  describe.each([
    ['in one call', false],
    ['in two calls a second apart', true],
  ])('two-step use cases %s', (_how, apart) => {
    async function deleteThenNew(remove: EngagementInput, add: EngagementInput): Promise<void> {
      if (!apart) return send(remove, add);
      await send(remove);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await send(add);
    }

    it.each([
      ['UC7 citizen rebooks, new booking id', UNIT],
      ['UC10 staff rebook to another unit', OTHER_UNIT],
    ])(
      '%s: When a booking is deleted and a new one follows, then one rebooking and no cancellation',
      async (_name, newUnit) => {
        const resident = newCitizen();
        const old = post(resident, { businessObjectInstanceIdentifier: `OLD-${resident}` });
        producer.addBooking(UNIT, `OLD-${resident}`, slot(resident));
        await send(old);
        await settled(resident);
        producer.removeBooking(UNIT, `OLD-${resident}`);
        producer.addBooking(
          newUnit,
          `NEW-${resident}`,
          slot(resident, {
            startTimeInclusive: '20270201080000',
            endTimeExclusive: '20270201083000',
            healthcareFacilityName: 'Vårdcentralen Björken',
          }),
        );
        await deleteThenNew(
          { ...old, deleteFlag: true },
          post(resident, { businessObjectInstanceIdentifier: `NEW-${resident}`, logicalAddress: newUnit }),
        );
        await afterWindow(resident);
        const messages = await messagesOf(resident);
        expect(messages.map((m) => m.kind)).toEqual(['booking_confirmation', 'rebooking']);
        expect(messages[1]).toMatchObject({ care_unit_hsa_id: newUnit, care_unit_name: 'Vårdcentralen Björken' });
        expect(messages[1]!.body).toContain('Tidigare tid: fredag 15 januari 2027 kl. 09:30–10:00');
      },
    );

    it('UC8: When a citizen books the time of an invitation, then a booking confirmation only', async () => {
      const resident = newCitizen();
      const invitation = post(resident, {
        categorization: 'Invitation',
        businessObjectInstanceIdentifier: `KAL-${resident}`,
      });
      producer.addBooking(
        UNIT,
        `KAL-${resident}`,
        slot(resident, { isInvitation: true, startTimeInclusive: undefined, endTimeExclusive: undefined }),
      );
      await send(invitation);
      await settled(resident);
      producer.addBooking(UNIT, `BOK-${resident}`, slot(resident));
      await deleteThenNew(
        { ...invitation, deleteFlag: true },
        post(resident, { businessObjectInstanceIdentifier: `BOK-${resident}` }),
      );
      await afterWindow(resident);
      expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['invitation', 'booking_confirmation']);
    });

    it('UC11: When staff replace an invitation by delete + new, then one invitation_updated', async () => {
      const resident = newCitizen();
      const first = post(resident, {
        categorization: 'Invitation',
        businessObjectInstanceIdentifier: `KAL-A-${resident}`,
      });
      producer.addBooking(
        UNIT,
        `KAL-A-${resident}`,
        slot(resident, { isInvitation: true, startTimeInclusive: undefined, endTimeExclusive: undefined }),
      );
      await send(first);
      await settled(resident);
      producer.addBooking(UNIT, `KAL-B-${resident}`, slot(resident, { isInvitation: true }));
      await deleteThenNew(
        { ...first, deleteFlag: true },
        post(resident, { categorization: 'Invitation', businessObjectInstanceIdentifier: `KAL-B-${resident}` }),
      );
      await afterWindow(resident);
      expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['invitation', 'invitation_updated']);
    });
  });

  it('UC11: When staff update an invitation to a set time, then one invitation_updated', async () => {
    const resident = newCitizen();
    const invitation = post(resident, {
      categorization: 'Invitation',
      businessObjectInstanceIdentifier: `KAL-U-${resident}`,
    });
    producer.addBooking(
      UNIT,
      `KAL-U-${resident}`,
      slot(resident, { isInvitation: true, startTimeInclusive: undefined, endTimeExclusive: undefined }),
    );
    await send(invitation);
    await settled(resident);
    producer.addBooking(UNIT, `KAL-U-${resident}`, slot(resident, { isInvitation: true }));
    await send(updated(invitation));
    await settled(resident);
    const messages = await messagesOf(resident);
    expect(messages.map((m) => m.kind)).toEqual(['invitation', 'invitation_updated']);
    expect(messages[1]!.body).toContain('Ny tid: fredag 15 januari 2027 kl. 09:30–10:00');
  });

  it('UC12: When the booked time has passed and the post is deleted, then no message', async () => {
    const resident = newCitizen();
    const booking = post(resident, { businessObjectInstanceIdentifier: `BOK-12-${resident}` });
    producer.addBooking(UNIT, `BOK-12-${resident}`, slot(resident));
    await send(booking);
    await settled(resident);
    clockOffsetMs = 400 * 24 * 3600 * 1000; // past 15 January 2027
    try {
      await send({ ...booking, deleteFlag: true });
      await afterWindow(resident);
    } finally {
      clockOffsetMs = 0;
    }
    expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['booking_confirmation']);
  });

  it('When a new post has a time that has already passed, then no message', async () => {
    const resident = newCitizen();
    producer.addBooking(
      UNIT,
      `BOK-P-${resident}`,
      slot(resident, { startTimeInclusive: '20250101090000', endTimeExclusive: '20250101093000' }),
    );
    await send(post(resident, { businessObjectInstanceIdentifier: `BOK-P-${resident}` }));
    await settled(resident);
    expect(await messagesOf(resident)).toEqual([]);
  });

  it('When the same call is delivered again, or the post is re-sent unchanged (reload), then nothing new', async () => {
    const resident = newCitizen();
    const booking = post(resident, { businessObjectInstanceIdentifier: `BOK-R-${resident}` });
    producer.addBooking(UNIT, `BOK-R-${resident}`, slot(resident));
    const body = notificationEnvelope([booking]);
    await postNotification(t.url, body);
    await settled(resident);
    await postNotification(t.url, body);
    await send(booking);
    await settled(resident);
    expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['booking_confirmation']);
  });

  it('When EI deletes and re-adds the same booking unchanged (reserve reload), then no message', async () => {
    const resident = newCitizen();
    const booking = post(resident, { businessObjectInstanceIdentifier: `BOK-RL-${resident}` });
    producer.addBooking(UNIT, `BOK-RL-${resident}`, slot(resident));
    await send(booking);
    await settled(resident);
    await send({ ...booking, deleteFlag: true }, booking);
    await afterWindow(resident);
    expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['booking_confirmation']);
  });

  it('When a source system is silent (initial load), then posts are stored but no message', async () => {
    const resident = newCitizen();
    await t.activate('SE-SILENT-PAS', 'silent');
    producer.addBooking(UNIT, `BOK-S-${resident}`, slot(resident));
    await send(
      post(resident, { businessObjectInstanceIdentifier: `BOK-S-${resident}`, sourceSystem: 'SE-SILENT-PAS' }),
    );
    await settled(resident);
    expect(await messagesOf(resident)).toEqual([]);
    const stored = await rows<{ present: boolean }>(
      t.database.orm,
      sql`select present from booking_post where resident = ${resident}`,
    );
    expect(stored).toEqual([{ present: true }]);
  });

  it('When the producer names another person as subject of care, then nothing is shown and a security event is recorded', async () => {
    const resident = newCitizen();
    producer.addBooking(UNIT, `BOK-X-${resident}`, slot(resident, { subjectOfCare: '191111111111' }));
    await send(post(resident, { businessObjectInstanceIdentifier: `BOK-X-${resident}` }));
    await settled(resident);
    expect(await messagesOf(resident)).toEqual([]);
    const events = await rows<{ kind: string; booking_id: string }>(
      t.database.orm,
      sql`select kind, booking_id from security_event where booking_id = ${`BOK-X-${resident}`}`,
    );
    expect(events).toEqual([{ kind: 'subject-of-care-mismatch', booking_id: `BOK-X-${resident}` }]);
    expect(JSON.stringify(t.logs)).not.toContain('191111111111');
  });

  it('When the producer fails twice with HTTP 500, then the notification is retried and produces one message', async () => {
    const resident = newCitizen();
    const bookingId = `BOK-T-${resident}`;
    producer.addBooking(UNIT, bookingId, slot(resident));
    let failures = 0;
    producer.handle((request) =>
      request.bookingId === bookingId && failures++ < 2 ? { status: 500, body: 'busy' } : undefined,
    );
    try {
      await send(post(resident, { businessObjectInstanceIdentifier: bookingId }));
      await waitFor(
        () => pendingOf(resident),
        (n) => n === 0,
        15_000,
      );
    } finally {
      producer.handle(undefined);
    }
    expect(failures).toBeGreaterThanOrEqual(3);
    expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['booking_confirmation']);
  });

  it('When the producer answers malformed, then a dead letter operators can see and retry', async () => {
    const resident = newCitizen();
    const bookingId = `BOK-M-${resident}`;
    producer.handle((request) =>
      request.bookingId === bookingId ? { status: 200, body: '<not-soap>', contentType: 'text/xml' } : undefined,
    );
    const token = await adminToken(t.app.config);
    try {
      await send(post(resident, { businessObjectInstanceIdentifier: bookingId }));
      await settled(resident);
    } finally {
      producer.handle(undefined);
    }
    const list = (await (await fetch(`${t.url}/api/admin/dead-letters`, { headers: bearer(token) })).json()) as {
      items: { id: number; logicalAddress: string; lastError: string }[];
    };
    const dead = list.items.find((item) => item.lastError.includes('malformed'));
    expect(dead).toMatchObject({ logicalAddress: UNIT });
    expect(JSON.stringify(list)).not.toContain(resident);
    expect((await fetch(`${t.url}/api/admin/dead-letters`)).status).toBe(401);

    producer.addBooking(UNIT, bookingId, slot(resident));
    const retried = await fetch(`${t.url}/api/admin/dead-letters/${dead!.id}/retry`, {
      method: 'POST',
      headers: bearer(token),
    });
    expect(retried.status).toBe(200);
    await settled(resident);
    expect((await messagesOf(resident)).map((m) => m.kind)).toEqual(['booking_confirmation']);
    expect(
      (await fetch(`${t.url}/api/admin/dead-letters/${dead!.id}/retry`, { method: 'POST', headers: bearer(token) }))
        .status,
    ).toBe(404);
  });

  it('When one call holds a booking and two rebookings of it, then one confirmation with the time the producer has now', async () => {
    // The producer knows only the latest state: what the citizen is told is the time that holds.
    const resident = newCitizen();
    const bookingId = `BOK-O-${resident}`;
    producer.addBooking(
      UNIT,
      bookingId,
      slot(resident, { startTimeInclusive: '20270303080000', endTimeExclusive: undefined }),
    );
    const booking = post(resident, { businessObjectInstanceIdentifier: bookingId });
    const second = updated(booking);
    await send(booking, second, updated(second));
    await settled(resident);
    const messages = await messagesOf(resident);
    expect(messages.map((m) => m.kind)).toEqual(['booking_confirmation']);
    expect(messages[0]!.booking.start).toBe('2027-03-03T07:00:00.000Z');
  });

  it('When a citizen has notifications in several calls, then they are decided in order: confirmation, then rebooking', async () => {
    const resident = newCitizen();
    const bookingId = `BOK-Q-${resident}`;
    producer.addBooking(
      UNIT,
      bookingId,
      slot(resident, { startTimeInclusive: '20270301080000', endTimeExclusive: undefined }),
    );
    const booking = post(resident, { businessObjectInstanceIdentifier: bookingId });
    await send(booking);
    await settled(resident);
    producer.addBooking(
      UNIT,
      bookingId,
      slot(resident, { startTimeInclusive: '20270302080000', endTimeExclusive: undefined }),
    );
    await send(updated(booking));
    await settled(resident);
    const messages = await messagesOf(resident);
    expect(messages.map((m) => m.kind)).toEqual(['booking_confirmation', 'rebooking']);
    expect(messages.map((m) => m.booking.start)).toEqual(['2027-03-01T07:00:00.000Z', '2027-03-02T07:00:00.000Z']);
  });

  it('When messages are created, then each has exactly one channel notification request', async () => {
    const [row] = await rows<{ messages: number; requests: number; orphans: number }>(
      t.database.orm,
      sql`select (select count(*)::int from inbox_message) as messages, (select count(*)::int from notification_request) as requests,
                 (select count(*)::int from inbox_message m where not exists (select 1 from notification_request r where r.message_id = m.id)) as orphans`,
    );
    expect(row!.messages).toBeGreaterThan(0);
    expect(row!.orphans).toBe(0);
    expect(row!.requests).toBe(row!.messages);
  });
});
