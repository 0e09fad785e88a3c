// SMS with the real `twilio` SDK against a local server playing Twilio's Messages endpoint: what the SDK
// sends, the digest, retries, permanent refusals, quiet hours, the daily cap, and a sender dying mid-send.
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { twilioSms } from '../../src/channels/providers/twilio/sms.js';
import { outboxEmail } from '../../src/channels/providers/outbox.js';
import type { SmsChannel } from '../../src/channels/providers/types.js';
import { startChannelSender, type SenderOptions } from '../../src/channels/sender/index.js';
import { loadNotificationTexts } from '../../src/channels/texts.js';
import { rows } from '../../src/db/database.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  CARE_UNIT_NAME,
  capturedLogger,
  deliveries,
  enableChannels,
  insertMessage,
  manualClock,
  startFakeTwilio,
  temporaryDirectory,
} from './helpers.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
const FROM = '+46700000000';
const MINUTE = 60_000;

let database: TestDatabase;
let twilio: Awaited<ReturnType<typeof startFakeTwilio>>;
let residentCounter = 0;

beforeAll(async () => {
  database = await openTestDatabase();
  twilio = await startFakeTwilio();
});

afterAll(async () => {
  await twilio?.close();
  await database?.close();
});

beforeEach(async () => {
  twilio.requests.length = 0;
  twilio.script.length = 0;
  twilio.messages.length = 0;
  // Each test starts from no deliveries, so counts below are this test's own.
  await database.orm.execute(sql`delete from notification_delivery_message`);
  await database.orm.execute(sql`delete from notification_delivery`);
  await database.orm.execute(sql`update notification_request set planned_at = now() where planned_at is null`);
});

function nextResident(): string {
  residentCounter++;
  return `1990010${String(residentCounter).padStart(5, '0')}`;
}

function sms(): SmsChannel {
  return twilioSms({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    from: FROM,
    apiBaseUrl: twilio.url,
    timeoutMs: 5_000,
  });
}

function sender(clock: { now: () => Date }, overrides: Partial<SenderOptions> = {}) {
  const { log, lines } = capturedLogger();
  const instance = startChannelSender({
    database,
    log,
    sms: sms(),
    email: outboxEmail({ dataDir: temporaryDirectory(), from: 'x@1177.se', log }),
    texts: loadNotificationTexts(),
    digestSeconds: 60,
    quietHours: { from: 21, to: 8 },
    smsDailyCap: 5,
    now: clock.now,
    pollMs: 0,
    ...overrides,
  });
  return { sender: instance, lines };
}

// 11:00 Swedish time (CET) on a Tuesday.
const MORNING = '2026-03-03T10:00:00Z';

describe('SMS through Twilio', () => {
  let stopAll: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stopAll) await stop();
    stopAll = [];
  });

  it('When a citizen with SMS gets a message, then the SDK sends To, From, Body with basic auth, once', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '070-123 45 67' });
    await insertMessage(database, resident, clock.now());
    const { sender: s, lines } = sender(clock);
    stopAll.push(s.stop);

    await s.runOnce();
    expect(twilio.requests).toHaveLength(0); // the digest window is still open

    clock.advance(61_000);
    const round = await s.runOnce();
    expect(round.sent).toBe(1);
    expect(twilio.requests).toHaveLength(1);
    const [request] = twilio.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(request!.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`);
    expect(request!.form.get('To')).toBe('+46701234567');
    expect(request!.form.get('From')).toBe(FROM);
    const body = request!.form.get('Body')!;
    expect(body).toMatch(/^Du har fått ett nytt meddelande i din inkorg på 1177/);
    expect(body).not.toContain(CARE_UNIT_NAME);
    expect(body.length).toBeLessThanOrEqual(160);

    const [delivery] = await deliveries(database);
    expect(delivery).toMatchObject({
      channel: 'sms',
      status: 'queued',
      attempts: 1,
      provider_id: 'SM00000000000000000000000000000001',
    });

    clock.advance(10 * MINUTE);
    await s.runOnce();
    expect(twilio.requests).toHaveLength(1);
    const logText = JSON.stringify(lines);
    expect(logText).not.toContain('701234567');
    expect(logText).not.toContain(resident);
  });

  it('When three messages arrive within the digest window, then one SMS tells of three', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '+46731234567' });
    const { sender: s } = sender(clock);
    stopAll.push(s.stop);
    await insertMessage(database, resident, clock.now());
    clock.advance(20_000);
    await insertMessage(database, resident, clock.now());
    clock.advance(20_000);
    await insertMessage(database, resident, clock.now());
    await s.runOnce();
    expect(twilio.requests).toHaveLength(0);

    clock.advance(21_000);
    await s.runOnce();
    expect(twilio.requests).toHaveLength(1);
    expect(twilio.requests[0]!.form.get('Body')).toMatch(/^Du har fått 3 nya meddelanden i din inkorg på 1177/);
    const found = await deliveries(database);
    expect(found).toHaveLength(1);
    expect(found[0]!.messages).toBe(3);
  });

  it('When 1,000 citizens without any channel and one with SMS get messages, then one round settles them all and sends the one SMS', async () => {
    const clock = manualClock(MORNING);
    const withSms = nextResident();
    await enableChannels(database, withSms, { phone: '+46731234568' });
    const without = Array.from({ length: 1000 }, () => nextResident());
    const { sender: s } = sender(clock);
    stopAll.push(s.stop);
    for (const resident of without) await insertMessage(database, resident, clock.now());
    await insertMessage(database, withSms, clock.now());
    clock.advance(61_000);
    const round = await s.runOnce();
    expect(round.planned).toBe(1001);
    expect(twilio.requests).toHaveLength(1);
    const [waiting] = await rows<{ n: number }>(
      database.orm,
      sql`select count(*)::int as n from notification_request where planned_at is null`,
    );
    expect(Number(waiting!.n)).toBe(0);
  });

  it('When Twilio answers 429 and then 500, then the SMS is retried with backoff and sent once', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0761234567' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    twilio.script.push(
      { status: 429, body: { code: 20429, message: 'Too Many Requests', status: 429 } },
      { status: 500, body: { code: 20500, message: 'Internal Server Error', status: 500 } },
    );
    const { sender: s } = sender(clock, { backoffMs: (n) => n * 10_000 });
    stopAll.push(s.stop);

    expect((await s.runOnce()).retried).toBe(1);
    let [delivery] = await deliveries(database);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, last_error: 'twilio_20429' });
    expect(delivery!.not_before.getTime()).toBe(clock.now().getTime() + 10_000);

    await s.runOnce(); // not yet due
    expect(twilio.requests).toHaveLength(1);

    clock.advance(10_000);
    expect((await s.runOnce()).retried).toBe(1);
    [delivery] = await deliveries(database);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 2, last_error: 'twilio_20500' });

    clock.advance(20_000);
    expect((await s.runOnce()).sent).toBe(1);
    clock.advance(60 * MINUTE);
    await s.runOnce();

    expect(twilio.requests).toHaveLength(3);
    expect(new Set(twilio.requests.map((r) => r.form.get('To')))).toEqual(new Set(['+46761234567']));
    [delivery] = await deliveries(database);
    expect(delivery).toMatchObject({ status: 'queued', attempts: 3, last_error: null });
  });

  it('When Twilio is unreachable, then the SMS waits and goes once it is back', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0791234567' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const unreachable = twilioSms({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: FROM,
      apiBaseUrl: 'http://127.0.0.1:9',
      timeoutMs: 2_000,
    });
    const { sender: down } = sender(clock, { sms: unreachable, backoffMs: () => 5_000 });
    expect((await down.runOnce()).retried).toBe(1);
    expect((await deliveries(database))[0]).toMatchObject({ status: 'pending', last_error: 'network' });
    await down.stop();

    clock.advance(5_000);
    const { sender: up } = sender(clock);
    stopAll.push(up.stop);
    expect((await up.runOnce()).sent).toBe(1);
    expect(twilio.requests).toHaveLength(1);
  });

  it('When Twilio refuses the number (21211), then the delivery is failed and never retried', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '+4915112345678' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    twilio.script.push({
      status: 400,
      body: { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 },
    });
    const { sender: s, lines } = sender(clock);
    stopAll.push(s.stop);

    expect((await s.runOnce()).failed).toBe(1);
    clock.advance(24 * 60 * MINUTE);
    await s.runOnce();
    expect(twilio.requests).toHaveLength(1);
    expect((await deliveries(database))[0]).toMatchObject({ status: 'failed', last_error: 'twilio_21211' });
    expect(lines.some((l) => l.msg === 'notification failed' && l.code === 'twilio_21211')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('15112345678');
  });

  it('When a message comes in the quiet hours, then the SMS waits until 08:00 Swedish time and the e-mail does not', async () => {
    // 22:30 Swedish time (CET = UTC+1).
    const clock = manualClock('2026-03-03T21:30:00Z');
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0701112233', email: 'natt@example.se' });
    await insertMessage(database, resident, clock.now());
    const { sender: s } = sender(clock);
    stopAll.push(s.stop);

    clock.advance(2 * MINUTE);
    const night = await s.runOnce();
    expect(night.held).toBe(1);
    expect(night.sent).toBe(1); // the e-mail
    expect(twilio.requests).toHaveLength(0);
    const sms = (await deliveries(database)).find((d) => d.channel === 'sms')!;
    expect(sms.status).toBe('pending');
    expect(sms.not_before.toISOString()).toBe('2026-03-04T07:00:00.000Z');

    clock.set('2026-03-04T06:59:00Z'); // 07:59
    await s.runOnce();
    expect(twilio.requests).toHaveLength(0);

    // Another message at night joins the waiting SMS: one SMS in the morning, telling of two.
    await insertMessage(database, resident, new Date('2026-03-04T06:00:00Z'));
    await s.runOnce();

    clock.set('2026-03-04T07:00:00Z'); // 08:00
    await s.runOnce();
    expect(twilio.requests).toHaveLength(1);
    expect(twilio.requests[0]!.form.get('Body')).toMatch(/2 nya meddelanden/);
  });

  it('When quiet hours cross a summer-time change, then the SMS still waits until 08:00 local time', async () => {
    // 23:00 CET on Saturday 28 March 2026; clocks go forward that night, so 08:00 is 06:00 UTC.
    const clock = manualClock('2026-03-28T22:00:00Z');
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0702223344' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const { sender: s } = sender(clock);
    stopAll.push(s.stop);
    await s.runOnce();
    expect((await deliveries(database))[0]!.not_before.toISOString()).toBe('2026-03-29T06:00:00.000Z');
  });

  it('When the daily cap is reached, then further SMS wait for the next day', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0703334455' });
    const { sender: s } = sender(clock, { smsDailyCap: 2 });
    stopAll.push(s.stop);
    for (let i = 0; i < 3; i++) {
      await insertMessage(database, resident, clock.now());
      clock.advance(2 * MINUTE);
      await s.runOnce();
      clock.advance(30 * MINUTE);
    }
    expect(twilio.requests).toHaveLength(2);
    const waiting = (await deliveries(database)).find((d) => d.status === 'pending')!;
    expect(waiting.last_error).toBe('daily_cap');
    expect(waiting.not_before.toISOString()).toBe('2026-03-04T07:00:00.000Z');

    clock.set('2026-03-03T22:59:00Z'); // 23:59 the same day: still capped (and quiet)
    await s.runOnce();
    expect(twilio.requests).toHaveLength(2);
    clock.set('2026-03-04T07:00:00Z');
    await s.runOnce();
    expect(twilio.requests).toHaveLength(3);
  });

  it('When the citizen turns SMS off before it is sent, then nothing is sent', async () => {
    const clock = manualClock('2026-03-03T21:30:00Z');
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0704445566' });
    await insertMessage(database, resident, clock.now());
    const { sender: s } = sender(clock);
    stopAll.push(s.stop);
    clock.advance(2 * MINUTE);
    await s.runOnce(); // held for the night
    await enableChannels(database, resident, {});
    clock.set('2026-03-04T07:00:00Z');
    expect((await s.runOnce()).cancelled).toBe(1);
    expect(twilio.requests).toHaveLength(0);
    expect((await deliveries(database))[0]).toMatchObject({ status: 'cancelled', last_error: 'channel_off' });
  });

  /** A sender that "dies" during the hand-over: the provider call never returns (after `before` ran). */
  function dyingSms(before: (message: Parameters<SmsChannel['sendMessage']>[0]) => Promise<unknown>): SmsChannel {
    const real = sms();
    return {
      provider: 'twilio',
      async sendMessage(message) {
        await before(message);
        return new Promise(() => {});
      },
      findSent: (query) => real.findSent(query),
    };
  }

  const sends = () => twilio.requests.filter((r) => r.method === 'POST');
  const lookups = () => twilio.requests.filter((r) => r.method === 'GET');

  it("When a sender dies after Twilio accepted the SMS, then the next sender finds it in Twilio's list and does not send it again", async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0705556677' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const real = sms();
    const { sender: first } = sender(clock, { sms: dyingSms((message) => real.sendMessage(message)), leaseMs: 60_000 });
    void first.runOnce();
    await expect.poll(() => sends().length, { timeout: 5_000 }).toBe(1);
    expect((await deliveries(database))[0]!.status).toBe('sending');

    clock.advance(61_000);
    const { sender: second, lines } = sender(clock);
    stopAll.push(second.stop);
    const round = await second.runOnce();
    expect(round).toMatchObject({ expired: 1, settled: 1, sent: 0 });
    clock.advance(60 * MINUTE);
    await second.runOnce();
    expect(sends()).toHaveLength(1);
    // Looked up by recipient (and our sender number), through the SDK's list call.
    expect(lookups()).toHaveLength(1);
    const query = new URL(lookups()[0]!.url, 'http://x').searchParams;
    expect(query.get('To')).toBe('+46705556677');
    expect(query.get('From')).toBe(FROM);
    const [delivery] = (await database.orm
      .execute(sql`select status, provider_id, doubt_settled_by from notification_delivery`)
      .then((r) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows))) as Array<Record<string, unknown>>;
    expect(delivery).toEqual({ status: 'queued', provider_id: twilio.messages[0]!.sid, doubt_settled_by: 'found' });
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('in doubt'))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('705556677');
  });

  it('When a sender dies before its request reached Twilio, then the next sender finds nothing and sends the SMS once', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0705556688' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const { sender: first } = sender(clock, { sms: dyingSms(async () => undefined), leaseMs: 60_000 });
    void first.runOnce();
    await expect.poll(async () => (await deliveries(database))[0]?.status, { timeout: 5_000 }).toBe('sending');

    clock.advance(61_000);
    const { sender: second } = sender(clock);
    stopAll.push(second.stop);
    expect(await second.runOnce()).toMatchObject({ expired: 1, settled: 1, sent: 1 });
    clock.advance(60 * MINUTE);
    await second.runOnce();
    expect(sends()).toHaveLength(1);
    expect(twilio.messages.filter((m) => m.to === '+46705556688')).toHaveLength(1);
    const [delivery] = await deliveries(database);
    expect(delivery).toMatchObject({ status: 'queued', attempts: 2, provider_id: twilio.messages.at(-1)!.sid });
  });

  it('When another SMS to the same number is already ours, then it is not taken for the one in doubt', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0705556699' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const { sender: before } = sender(clock);
    stopAll.push(before.stop);
    expect((await before.runOnce()).sent).toBe(1);
    // A second message, a second delivery: its sender dies before Twilio heard of it.
    clock.advance(10 * MINUTE);
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const { sender: first } = sender(clock, { sms: dyingSms(async () => undefined), leaseMs: 60_000 });
    void first.runOnce();
    await expect
      .poll(async () => (await deliveries(database)).map((d) => d.status), { timeout: 5_000 })
      .toEqual(['queued', 'sending']);
    // The lookup searches from when the attempt began less a minute of clock skew: it sees the first SMS.
    clock.advance(61_000);
    const { sender: second } = sender(clock);
    stopAll.push(second.stop);
    expect(await second.runOnce()).toMatchObject({ settled: 1, sent: 1 });
    expect(sends()).toHaveLength(2);
    expect(new Set((await deliveries(database)).map((d) => d.provider_id)).size).toBe(2);
  });

  it('When Twilio cannot be asked, then the delivery stays in doubt and is looked up again later, never sent blindly', async () => {
    const clock = manualClock(MORNING);
    const resident = nextResident();
    await enableChannels(database, resident, { phone: '0705556600' });
    await insertMessage(database, resident, new Date(clock.now().getTime() - 2 * MINUTE));
    const real = sms();
    const { sender: first } = sender(clock, { sms: dyingSms((message) => real.sendMessage(message)), leaseMs: 60_000 });
    void first.runOnce();
    await expect.poll(() => sends().length, { timeout: 5_000 }).toBe(1);
    clock.advance(61_000);
    twilio.script.push({ status: 503, body: { code: 20503, message: 'Service unavailable', status: 503 } });
    const { sender: second } = sender(clock);
    stopAll.push(second.stop);
    expect(await second.runOnce()).toMatchObject({ expired: 1, settled: 0, sent: 0 });
    expect((await deliveries(database))[0]).toMatchObject({ status: 'in_doubt', last_error: 'lookup:twilio_20503' });
    clock.advance(31_000);
    expect(await second.runOnce()).toMatchObject({ settled: 1, sent: 0 });
    expect(sends()).toHaveLength(1);
    expect((await deliveries(database))[0]).toMatchObject({ status: 'queued', provider_id: twilio.messages[0]!.sid });
  });
});
