// The administrators' console over the real app (HTTP, SOAP, a local GetBookingDetails producer, the
// engine, the sender's outbox): per-source-system statistics, the unregistered systems seen and registering
// from that list, the trace of a booking through confirmation, rebooking and cancellation (and a
// notification that made no message, with why), dead letters retried per source system, one info line per
// decision without personal data, and the trace by personal identity number (support role, audited).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevelopmentToken } from '../../src/auth/index.js';
import { rows } from '../../src/db/database.js';
import type { Counts } from '../../src/source-activity/index.js';
import { saveCitizenSettings } from '../../src/channels/settings.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import {
  startBookingProducer,
  sampleTimeslot,
  type BookingProducer,
  type TimeslotInput,
} from '../helpers/booking-producer.js';
import {
  engagement,
  notificationEnvelope,
  postNotification,
  TEST_SOURCE_SYSTEM,
  type EngagementInput,
} from '../helpers/soap.js';

const UNIT = 'SE2321000016-VC5';
const RESIDENT = '198503152391';
const UNREGISTERED = 'SE2321000016-NYPAS';
let producer: BookingProducer;
let t: TestApp;
let admin: string;
let support: string;

beforeAll(async () => {
  producer = await startBookingProducer();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-console-'));
  t = await startTestApp(
    {
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      REBOOK_WINDOW_SECONDS: '1',
      DATA_DIR: dataDir,
      NOTIFY_DIGEST_SECONDS: '1',
      SMS_QUIET_HOURS: '',
    },
    { engine: { pollMs: 20 } },
  );
  await t.activate(TEST_SOURCE_SYSTEM);
  admin = await signDevelopmentToken(t.app.config, 'admin', 'Ada Admin');
  support = await signDevelopmentToken(t.app.config, 'support', 'Siv Support');
});
afterAll(async () => {
  await t?.close();
  await producer?.close();
});

async function api<T = any>(
  method: string,
  route: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const response = await fetch(`${t.url}/api/admin${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
}

async function send(...transactions: EngagementInput[]): Promise<void> {
  const answer = await postNotification(t.url, notificationEnvelope(transactions));
  expect(answer.resultCode, answer.comment ?? answer.faultstring).toBe('OK');
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function pending(): Promise<number> {
  const [row] = await rows<{ n: number }>(
    t.database.orm,
    sql`select count(*)::int as n from inbound_notification where status = 'pending'`,
  );
  return Number(row!.n);
}

const settled = () => until(pending, (n) => n === 0);

function slot(overrides: TimeslotInput = {}): TimeslotInput {
  return sampleTimeslot({
    subjectOfCare: RESIDENT,
    startTimeInclusive: '20270115093000',
    endTimeExclusive: '20270115100000',
    healthcareFacilityName: 'Vårdcentralen Eken',
    ...overrides,
  });
}

let version = 0;
function post(bookingId: string, overrides: EngagementInput = {}): EngagementInput {
  version++;
  return engagement({
    registeredResidentIdentification: RESIDENT,
    logicalAddress: UNIT,
    businessObjectInstanceIdentifier: bookingId,
    updateTime: `202611221${String(10000 + version).slice(-5)}`,
    ...overrides,
  });
}

interface Stats {
  environment: string;
  sourceSystem: string;
  registration: { name: string; mode: string } | null;
  last24h: Counts;
  last7d: Counts;
  deadLettersNow: number;
  lastSeenAt: string | null;
}

async function statsOf(sourceSystem: string): Promise<Stats | undefined> {
  const answer = await api<{ items: Stats[] }>('GET', '/source-activity?environment=qa', admin);
  expect(answer.status).toBe(200);
  return answer.json.items.find((item) => item.sourceSystem === sourceSystem);
}

describe('the trace of a booking', () => {
  it('When a booking is confirmed, rebooked, updated without change and cancelled, then the trace shows every notification, decision and why in Swedish, message and delivery', async () => {
    await saveCitizenSettings(t.database, RESIDENT, {
      sms: { enabled: false, phone: null },
      email: { enabled: true, address: 'patient@example.se' },
    });
    producer.addBooking(UNIT, 'SPAR-1', slot());
    await send(post('SPAR-1'));
    await settled();
    producer.addBooking(
      UNIT,
      'SPAR-1',
      slot({ startTimeInclusive: '20270120140000', endTimeExclusive: '20270120143000' }),
    );
    await send(post('SPAR-1'));
    await settled();
    // The same details again, delivered as a later version: no news, so no message (and the trace says why).
    await send(post('SPAR-1'));
    await settled();
    producer.removeBooking(UNIT, 'SPAR-1');
    await send(post('SPAR-1', { deleteFlag: true }));
    await settled();

    type Trace = { sourceSystem: string; bookingId: string; events: any[] };
    const trace = await until(
      async () =>
        (
          await api<Trace>(
            'GET',
            `/trace?sourceSystem=${encodeURIComponent(TEST_SOURCE_SYSTEM.toLowerCase())}&bookingId=SPAR-1`,
            admin,
          )
        ).json,
      (value) =>
        value.events.length === 5 &&
        value.events
          .filter((e) => e.decision?.message)
          .every(
            (e) =>
              e.decision.message.deliveries.length > 0 &&
              e.decision.message.deliveries.every((d: any) => d.status !== 'pending' && d.status !== 'sending'),
          ),
    );
    expect(trace.sourceSystem).toBe(TEST_SOURCE_SYSTEM);
    expect(
      trace.events.map((e) => [e.type, e.deleteFlag, e.status, e.decision?.outcome, e.decision?.messageKind]),
    ).toEqual([
      ['notification', false, 'done', 'message', 'booking_confirmation'],
      ['notification', false, 'done', 'message', 'rebooking'],
      ['notification', false, 'done', 'no_message', null],
      ['notification', true, 'done', 'no_message', null],
      ['window_ended', null, null, 'message', 'cancellation'],
    ]);
    expect(trace.events.map((e) => e.decision.becauseSv)).toEqual([
      'Ny bokning: bokningsbekräftelse.',
      'Bokningen har flyttats: ombokningsmeddelande.',
      'Oförändrad bokning (omleverans eller ny inläsning): inget meddelande.',
      'Borttag av bokning: väntar ombokningsfönstret ut innan det blir en avbokning.',
      'Ombokningsfönstret gick ut utan ny bokning: avbokningsmeddelande.',
    ]);
    expect(trace.events[2].decision.because).toBe('unchanged post (redelivery or reload): no message');
    for (const event of trace.events.filter((e) => e.decision.message)) {
      expect(event.decision.message.subject).toEqual(expect.any(String));
      expect(event.decision.message.deliveries).toEqual([
        expect.objectContaining({ channel: 'email', status: 'sent' }),
      ]);
    }
    expect(trace.events.every((e) => e.logicalAddress === UNIT)).toBe(true);
    // Nothing personal in the trace: no identity number, no address.
    const text = JSON.stringify(trace);
    expect(text).not.toContain(RESIDENT);
    expect(text).not.toContain('patient@example.se');
  });

  it('When the engine decides, then each decision is one info line with the kind or "no message" and why, the post key hash, and no personal data', () => {
    const decisions = t.logs.filter((line) => line.msg === 'decision');
    expect(decisions.length).toBeGreaterThanOrEqual(5);
    for (const line of decisions) {
      expect(line.level).toBe(30);
      expect(line.keyHash).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(['message', 'no_message', 'dead']).toContain(line.outcome);
      expect(line.because).toEqual(expect.any(String));
      if (line.outcome === 'message') expect(line.kind).toEqual(expect.any(String));
      expect(JSON.stringify(line)).not.toContain(RESIDENT);
    }
    expect(decisions.map((line) => line.kind ?? line.outcome)).toEqual(
      expect.arrayContaining(['booking_confirmation', 'rebooking', 'no_message', 'cancellation']),
    );
  });

  it('When the flood guard holds the care unit, then the trace shows the message as held, not in the inbox', async () => {
    const unit = 'SE2321000016-VC6';
    await t.database.orm
      .execute(sql`insert into care_unit_guard (environment, logical_address, first_seen_at, last_seen_at, hold_status, hold_started_at)
      values ('qa', ${unit}, now(), now(), 'holding', now())`);
    await t.app.directory.refresh();
    producer.addBooking(
      unit,
      'HELD-1',
      slot({ startTimeInclusive: '20270401093000', endTimeExclusive: '20270401100000' }),
    );
    await send(post('HELD-1', { logicalAddress: unit }));
    await settled();
    const trace = await api<{ events: any[] }>(
      'GET',
      `/trace?sourceSystem=${TEST_SOURCE_SYSTEM}&bookingId=HELD-1`,
      admin,
    );
    expect(trace.json.events).toHaveLength(1);
    expect(trace.json.events[0]).toMatchObject({
      deliveredMode: 'held',
      decision: {
        outcome: 'message',
        messageKind: 'booking_confirmation',
        message: { notice: 'held', deliveries: [] },
      },
    });
  });

  it('When a booking was never received, then the trace is empty; without a booking id it is a 400', async () => {
    expect((await api('GET', `/trace?sourceSystem=${TEST_SOURCE_SYSTEM}&bookingId=NEVER`, admin)).json.events).toEqual(
      [],
    );
    expect((await api('GET', `/trace?sourceSystem=${TEST_SOURCE_SYSTEM}`, admin)).status).toBe(400);
  });
});

describe('statistics per source system', () => {
  it('When notifications arrive, make messages, fail at the producer and become dead letters, then the counters of 24 h and 7 d say so', async () => {
    const before = (await statsOf(TEST_SOURCE_SYSTEM))!;
    expect(before.registration).toMatchObject({ mode: 'active' });
    expect(before.last24h.booking_confirmation).toBeGreaterThanOrEqual(1);
    producer.addBooking(
      UNIT,
      'STAT-1',
      slot({ startTimeInclusive: '20270301093000', endTimeExclusive: '20270301100000' }),
    );
    // A producer answer that cannot be read is a permanent failure: a dead letter at once.
    producer.handle((request) =>
      request.bookingId === 'STAT-BAD' ? { status: 200, body: '<nonsense/>', contentType: 'text/xml' } : undefined,
    );
    await send(post('STAT-1'), post('STAT-BAD'));
    await settled();
    const after = await until(
      async () => (await statsOf(TEST_SOURCE_SYSTEM))!,
      (s) => s.last24h.dead_letters > before.last24h.dead_letters,
    );
    producer.handle(undefined);
    expect(after.last24h.received - before.last24h.received).toBe(2);
    expect(after.last24h.booking_confirmation - before.last24h.booking_confirmation).toBe(1);
    expect(after.last24h.producer_failures - before.last24h.producer_failures).toBe(1);
    expect(after.last24h.dead_letters - before.last24h.dead_letters).toBe(1);
    expect(after.deadLettersNow).toBe(1);
    // 7 days include the last 24 hours.
    for (const [counter, value] of Object.entries(after.last24h))
      expect(after.last7d[counter as keyof Counts]).toBeGreaterThanOrEqual(value);
    expect(Date.parse(after.lastSeenAt!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('When the dead letters of a source system are retried, then they are queued again, audited, and the trace shows the one given up with why', async () => {
    const listed = await api<{ items: { id: number; sourceSystem: string; bookingId: string; lastError: string }[] }>(
      'GET',
      `/dead-letters?sourceSystem=${TEST_SOURCE_SYSTEM}`,
      admin,
    );
    expect(listed.json.items).toEqual([
      expect.objectContaining({ sourceSystem: TEST_SOURCE_SYSTEM, bookingId: 'STAT-BAD' }),
    ]);
    expect(JSON.stringify(listed.json)).not.toContain(RESIDENT);
    const trace = await api<{ events: any[] }>(
      'GET',
      `/trace?sourceSystem=${TEST_SOURCE_SYSTEM}&bookingId=STAT-BAD`,
      admin,
    );
    expect(trace.json.events).toEqual([
      expect.objectContaining({ status: 'dead', decision: expect.objectContaining({ outcome: 'dead' }) }),
    ]);
    expect(trace.json.events[0].decision.becauseSv).toMatch(/^Gav upp: bokningssystemets svar gick inte att tolka/);

    producer.addBooking(
      UNIT,
      'STAT-BAD',
      slot({ startTimeInclusive: '20270302093000', endTimeExclusive: '20270302100000' }),
    );
    const retried = await api<{ retried: number; ids: number[] }>('POST', '/dead-letters/retry', admin, {
      sourceSystem: TEST_SOURCE_SYSTEM,
    });
    expect(retried.json).toMatchObject({ retried: 1, ids: [listed.json.items[0]!.id] });
    await settled();
    expect((await api('GET', `/dead-letters?sourceSystem=${TEST_SOURCE_SYSTEM}`, admin)).json.items).toEqual([]);
    const audit = await api<{ items: any[] }>('GET', '/audit?entity=dead_letter', admin);
    expect(audit.json.items[0]).toMatchObject({
      actor: 'Ada Admin',
      action: 'retry_all',
      entityId: TEST_SOURCE_SYSTEM,
      after: { notifications: 1 },
    });
    const again = await api<{ events: any[] }>(
      'GET',
      `/trace?sourceSystem=${TEST_SOURCE_SYSTEM}&bookingId=STAT-BAD`,
      admin,
    );
    // The earlier decision (given up) stays in the history, before the one after the retry.
    expect(again.json.events.map((e) => e.decision?.outcome)).toEqual(['dead', 'message']);
    expect(again.json.events[1]).toMatchObject({ status: 'done', decision: { messageKind: 'booking_confirmation' } });
  });
});

describe('unregistered systems seen', () => {
  it('When an unregistered system sends, then it is listed with counts, first/last seen and care units, and counted as ignored', async () => {
    await send(
      engagement({
        sourceSystem: UNREGISTERED,
        logicalAddress: 'SE2321000016-VC7',
        businessObjectInstanceIdentifier: 'NY-1',
      }),
      engagement({
        sourceSystem: UNREGISTERED,
        logicalAddress: 'SE2321000016-VC8',
        businessObjectInstanceIdentifier: 'NY-2',
      }),
    );
    await send(
      engagement({
        sourceSystem: UNREGISTERED.toLowerCase(),
        logicalAddress: 'SE2321000016-VC8',
        businessObjectInstanceIdentifier: 'NY-3',
      }),
    );
    const list = await api<{ items: any[] }>('GET', '/unregistered-systems?environment=qa', admin);
    const seen = list.json.items.find((item) => item.sourceSystem === UNREGISTERED);
    expect(seen).toMatchObject({ environment: 'qa', notifications: 3, careUnitCount: 2 });
    expect([...seen.careUnits].sort()).toEqual(['SE2321000016-VC7', 'SE2321000016-VC8']);
    expect(Date.parse(seen.firstSeenAt)).toBeLessThanOrEqual(Date.parse(seen.lastSeenAt));
    expect(list.json.items.map((item) => item.sourceSystem)).not.toContain(TEST_SOURCE_SYSTEM);
    expect((await api('GET', '/unregistered-systems?environment=prod', admin)).json.items).toEqual([]);
    expect(await statsOf(UNREGISTERED)).toMatchObject({
      registration: null,
      last24h: expect.objectContaining({ ignored: 3, received: 0 }),
    });
  });

  it('When it is registered from the list in one step, then it is live at once, audited, and leaves the list', async () => {
    expect(
      (
        await api('POST', '/unregistered-systems/register', admin, {
          environment: 'prod',
          hsaId: UNREGISTERED,
          name: 'Ny PAS',
        })
      ).status,
    ).toBe(404);
    const registered = await api('POST', '/unregistered-systems/register', admin, {
      environment: 'qa',
      hsaId: UNREGISTERED,
      name: 'Ny PAS',
      mode: 'silent',
    });
    expect(registered.status).toBe(201);
    expect(registered.json).toMatchObject({ environment: 'qa', hsaId: UNREGISTERED, name: 'Ny PAS', mode: 'silent' });
    expect(t.app.directory.modeOf(UNREGISTERED)).toBe('silent');
    const audit = await api<{ items: any[] }>('GET', '/audit?entity=source_system&limit=1', admin);
    expect(audit.json.items[0]).toMatchObject({
      actor: 'Ada Admin',
      action: 'source_system.register',
      after: { hsaId: UNREGISTERED },
    });
    expect(
      (await api<{ items: any[] }>('GET', '/unregistered-systems', admin)).json.items.map((item) => item.sourceSystem),
    ).not.toContain(UNREGISTERED);
    expect(
      (
        await api('POST', '/unregistered-systems/register', admin, {
          environment: 'qa',
          hsaId: UNREGISTERED,
          name: 'Igen',
        })
      ).status,
    ).toBe(404);
    const answer = await postNotification(
      t.url,
      notificationEnvelope([
        engagement({
          sourceSystem: UNREGISTERED,
          logicalAddress: 'SE2321000016-VC7',
          businessObjectInstanceIdentifier: 'NY-4',
        }),
      ]),
    );
    expect(answer.comment).toBe('accepted 1 (already received 0), ignored 0, rejected 0');
  });

  it('When a system that is not an HSA-id sends, then it is listed, and registering it is refused with the reason', async () => {
    await send(engagement({ sourceSystem: 'PAS-UTAN-ORGNR', businessObjectInstanceIdentifier: 'X-1' }));
    const refused = await api('POST', '/unregistered-systems/register', admin, {
      environment: 'qa',
      hsaId: 'PAS-UTAN-ORGNR',
      name: 'Fel',
    });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toContain('hsaId must be an HSA-id');
  });
});

describe('the trace by personal identity number', () => {
  it('When an administrator without the support role asks, then 403 and nothing is audited', async () => {
    const before = (await api<{ items: any[] }>('GET', '/audit?entity=citizen', support)).json.items.length;
    const answer = await api('POST', '/trace/by-person', admin, {
      personalIdentityNumber: RESIDENT,
      reason: 'Ärende 4711: inget meddelande',
    });
    expect(answer.status).toBe(403);
    expect((await api<{ items: any[] }>('GET', '/audit?entity=citizen', support)).json.items.length).toBe(before);
  });

  it('When the support role asks without a reason or with a bad number, then 400 and nothing is read or audited', async () => {
    expect((await api('POST', '/trace/by-person', support, { personalIdentityNumber: RESIDENT })).status).toBe(400);
    expect(
      (
        await api('POST', '/trace/by-person', support, {
          personalIdentityNumber: '1985',
          reason: 'Ärende 4711: inget meddelande',
        })
      ).status,
    ).toBe(400);
    expect((await api<{ items: any[] }>('GET', '/audit?entity=citizen', support)).json.items).toEqual([]);
  });

  it("When the support role asks with a reason, then the citizen's bookings are traced and the look-up is audited with who, whom and why", async () => {
    const answer = await api<{ items: { bookingId: string; events: unknown[] }[] }>(
      'POST',
      '/trace/by-person',
      support,
      {
        personalIdentityNumber: '19850315-2391',
        reason: 'Ärende 4711: patienten fick ingen bekräftelse',
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.json.items.map((item) => item.bookingId).sort()).toEqual(['HELD-1', 'SPAR-1', 'STAT-1', 'STAT-BAD']);
    expect(answer.json.items.find((item) => item.bookingId === 'SPAR-1')!.events).toHaveLength(5);
    const audit = await api<{ items: any[] }>('GET', '/audit?entity=citizen', support);
    expect(audit.json.items[0]).toMatchObject({
      actor: 'Siv Support',
      action: 'trace.by_person',
      entityId: RESIDENT,
      after: { reason: 'Ärende 4711: patienten fick ingen bekräftelse', bookings: 4 },
    });
    // Other administrators see that it happened, not whom it was about.
    const seenByAdmin = await api<{ items: any[] }>('GET', '/audit?entity=citizen', admin);
    expect(seenByAdmin.json.items[0]).toMatchObject({ actor: 'Siv Support', action: 'trace.by_person' });
    expect(JSON.stringify(seenByAdmin.json)).not.toContain(RESIDENT);
    expect(t.logs.some((line) => JSON.stringify(line).includes(RESIDENT))).toBe(false);
  });
});
