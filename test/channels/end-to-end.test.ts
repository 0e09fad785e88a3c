// The channels inside the real app: ProcessNotification -> message engine (with a local booking producer)
// -> notification requests -> the sender's own loop -> the outbox; then a privacy sweep over every SMS and
// e-mail written. And Twilio's signed status reports on the app's endpoint.
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { outboxEmail, outboxSms } from '../../src/channels/providers/outbox.js';
import { twilioStatusRouter } from '../../src/channels/providers/twilio/status.js';
import { loadConfig } from '../../src/config.js';
import { rows } from '../../src/db/database.js';
import { citizenToken, bearer } from '../helpers/auth.js';
import { startBookingProducer, sampleTimeslot, type BookingProducer } from '../helpers/booking-producer.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { engagement, notificationEnvelope, postNotification, TEST_SOURCE_SYSTEM } from '../helpers/soap.js';
import { capturedLogger, deliveries, temporaryDirectory } from './helpers.js';

const SECRET = 'channels-end-to-end-secret-0123456789abcdef';
const UNIT = 'SE2321000016-VC9';
const UNIT_NAME = 'Ungdomsmottagningen Söder';

describe('notifications end to end (outbox)', () => {
  let producer: BookingProducer;
  let t: TestApp;
  const dataDir = temporaryDirectory();
  const outbox = path.join(dataDir, 'outbox');

  beforeAll(async () => {
    producer = await startBookingProducer();
    t = await startTestApp({
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      NOTIFY_DIGEST_SECONDS: '3',
      SMS_QUIET_HOURS: '',
      REBOOK_WINDOW_SECONDS: '1',
    });
    await t.activate(TEST_SOURCE_SYSTEM);
  });
  afterAll(async () => {
    await t?.close();
    await producer?.close();
  });

  async function settings(resident: string, body: object): Promise<void> {
    const token = await citizenToken({ auth: { jwtSecret: SECRET, jwksUrl: undefined }, dataDir }, resident);
    const response = await fetch(`${t.url}/api/citizen/settings`, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
  }

  function booking(resident: string, bookingId: string, overrides: Parameters<typeof sampleTimeslot>[0] = {}) {
    producer.addBooking(
      UNIT,
      bookingId,
      sampleTimeslot({
        subjectOfCare: resident,
        startTimeInclusive: '20270115093000',
        endTimeExclusive: '20270115100000',
        healthcareFacilityName: UNIT_NAME,
        careTypeName: 'Preventivmedelsrådgivning',
        purpose: 'Rådgivning om preventivmedel',
        reason: 'Graviditetstest',
        performerName: 'Barnmorska Berit',
        ...overrides,
      }),
    );
    return engagement({
      registeredResidentIdentification: resident,
      logicalAddress: UNIT,
      businessObjectInstanceIdentifier: bookingId,
    });
  }

  function outboxFiles(): { name: string; content: Record<string, string> }[] {
    if (!fs.existsSync(outbox)) return [];
    return fs
      .readdirSync(outbox)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => ({
        name,
        content: JSON.parse(fs.readFileSync(path.join(outbox, name), 'utf8')) as Record<string, string>,
      }));
  }

  async function waitForFiles(count: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (outboxFiles().length < count && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    // A little longer: nothing more may come.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }

  it('When bookings reach the inbox, then each citizen gets one generic SMS / e-mail per digest, and none carries health information', async () => {
    const anna = '199702142382';
    const bertil = '200005052399';
    const cecilia = '198811309281';
    await settings(anna, {
      sms: { enabled: true, phone: '070-111 22 33' },
      email: { enabled: true, address: 'anna@example.se' },
    });
    await settings(bertil, { sms: { enabled: true, phone: '0732223344' } });
    await settings(cecilia, { email: { enabled: false, address: 'cecilia@example.se' } });

    // Anna: two bookings in one call (one digest); Bertil one; Cecilia one, but her channels are off.
    const answer = await postNotification(
      t.url,
      notificationEnvelope([
        booking(anna, 'E2E-A1'),
        booking(anna, 'E2E-A2', { startTimeInclusive: '20270116080000', endTimeExclusive: '20270116083000' }),
        booking(bertil, 'E2E-B1'),
        booking(cecilia, 'E2E-C1'),
      ]),
    );
    expect(answer.resultCode, answer.comment ?? answer.faultstring).toBe('OK');
    await waitForFiles(3);

    const [{ n: messageCount }] = (await rows<{ n: number }>(
      t.database.orm,
      sql`select count(*)::int as n from inbox_message`,
    )) as [{ n: number }];
    expect(Number(messageCount)).toBe(4);

    const files = outboxFiles();
    const byRecipient = (to: string) => files.filter((f) => f.content.to === to);
    expect(byRecipient('+46701112233')).toHaveLength(1);
    expect(byRecipient('+46701112233')[0]!.content.body).toMatch(/^Du har fått 2 nya meddelanden i din inkorg på 1177/);
    expect(byRecipient('anna@example.se')).toHaveLength(1);
    expect(byRecipient('anna@example.se')[0]!.content.subject).toBe('Nya meddelanden i din inkorg på 1177');
    expect(byRecipient('+46732223344')).toHaveLength(1);
    expect(byRecipient('+46732223344')[0]!.content.body).toMatch(/^Du har fått ett nytt meddelande/);
    expect(files).toHaveLength(3);

    // The privacy sweep: everything the citizens were sent.
    const forbidden = [
      UNIT_NAME,
      'Söder',
      UNIT,
      'Preventivmedel',
      'preventivmedel',
      'Graviditet',
      'Barnmorska',
      'Berit',
      'Mottagning 3',
      'Besök',
      'januari',
      '2027',
      '09:30',
      '08:00',
      'fredag',
      'lördag',
      'Bokningsbekräftelse',
      anna,
      bertil,
      cecilia,
      '19970214',
    ];
    for (const file of files) {
      const sent = [file.content.body, file.content.subject, file.content.text, file.content.html]
        .filter(Boolean)
        .join('\n');
      expect(sent.length).toBeGreaterThan(20);
      for (const word of forbidden) expect(sent, `${file.name} contains "${word}"`).not.toContain(word);
      expect(sent).not.toMatch(/\b\d{1,2}[:.]\d{2}\b/); // no clock time
    }

    const statuses = (await deliveries(t.database)).map((d) => `${d.channel}:${d.status}:${d.messages}`).sort();
    expect(statuses).toEqual(['email:sent:2', 'sms:sent:1', 'sms:sent:2']);

    const logText = JSON.stringify(t.logs);
    for (const personal of [anna, bertil, cecilia, '701112233', '732223344', 'anna@example.se', 'cecilia@example.se']) {
      expect(logText).not.toContain(personal);
    }
    expect(t.logs.some((line) => line.msg === 'SMS written to the outbox')).toBe(true);
  });
});

describe('Twilio status callbacks', () => {
  const AUTH_TOKEN = 'callback-auth-token-0123456789abcd';
  let app: App;
  let url: string;
  let database: TestDatabase;
  const { log, lines } = capturedLogger();

  beforeAll(async () => {
    database = await openTestDatabase();
    const dataDir = temporaryDirectory();
    const config = loadConfig({
      PORT: '0',
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_FROM: '+46700000000',
      ROLES: 'web,sender',
    });
    // Nothing may reach the real Twilio from a test: the sender writes to the outbox and does not loop.
    app = await buildApp({
      config,
      database,
      log,
      channels: {
        providers: { sms: outboxSms({ dataDir, log }), email: outboxEmail({ dataDir, from: 'x@1177.se', log }) },
        tuning: { pollMs: 0 },
      },
    });
    url = await app.listen();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  async function delivery(sid: string, status = 'queued'): Promise<{ id: number; reference: string }> {
    const [row] = await rows<{ id: number; created_ms: number | string }>(
      database.orm,
      sql`insert into notification_delivery (resident, channel, status, not_before, provider_id, recipient, sent_at)
          values ('191212121212', 'sms', ${status}, now(), ${sid}, '+46701234567', now()) returning id, floor(extract(epoch from created_at) * 1000)::bigint as created_ms`,
    );
    const id = Number(row!.id);
    return { id, reference: `${id}-${Number(row!.created_ms).toString(36)}` };
  }

  async function statusOf(
    id: number,
  ): Promise<{ status: string; provider_status: string | null; last_error: string | null }> {
    const [row] = await rows<{ status: string; provider_status: string | null; last_error: string | null }>(
      database.orm,
      sql`select status, provider_status, last_error from notification_delivery where id = ${id}`,
    );
    return row!;
  }

  async function report(
    reference: string,
    params: Record<string, string>,
    signature: string | null,
  ): Promise<Response> {
    return fetch(`${url}/channels/twilio/status?delivery=${reference}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === null ? {} : { 'x-twilio-signature': signature }),
      },
      body: new URLSearchParams(params).toString(),
    });
  }

  function sign(token: string, reference: string, params: Record<string, string>): string {
    return twilio.getExpectedTwilioSignature(token, `${url}/channels/twilio/status?delivery=${reference}`, params);
  }

  it('When Twilio reports a delivery with a correct signature, then its status is updated', async () => {
    const { id, reference } = await delivery('SM11111111111111111111111111111111');
    const params = {
      MessageSid: 'SM11111111111111111111111111111111',
      MessageStatus: 'delivered',
      AccountSid: 'AC0123456789abcdef0123456789abcdef',
      To: '+46701234567',
    };
    const response = await report(reference, params, sign(AUTH_TOKEN, reference, params));
    expect(response.status).toBe(204);
    expect(await statusOf(id)).toMatchObject({ status: 'delivered', provider_status: 'delivered' });

    // A late `sent` (reports may arrive out of order) does not step back.
    const late = { ...params, MessageStatus: 'sent' };
    expect((await report(reference, late, sign(AUTH_TOKEN, reference, late))).status).toBe(204);
    expect((await statusOf(id)).status).toBe('delivered');
  });

  it("When the handset cannot be reached, then the delivery is undelivered with Twilio's error code", async () => {
    const { id, reference } = await delivery('SM22222222222222222222222222222222', 'sent');
    const params = {
      MessageSid: 'SM22222222222222222222222222222222',
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
    };
    expect((await report(reference, params, sign(AUTH_TOKEN, reference, params))).status).toBe(204);
    expect(await statusOf(id)).toMatchObject({ status: 'undelivered', last_error: 'twilio_30003' });
  });

  it.each([
    ['in_doubt', 'SM33333333333333333333333333333333'],
    ['unknown', 'SM33333333333333333333333333333334'],
  ])(
    'When a delivery was left %s by a dying sender, then a signed report settles it by its reference',
    async (state, sid) => {
      const [row] = await rows<{ id: number; created_ms: number | string }>(
        database.orm,
        sql`insert into notification_delivery (resident, channel, status, not_before, last_error)
          values ('191212121212', 'sms', ${state}, now(), 'sender_stopped') returning id, floor(extract(epoch from created_at) * 1000)::bigint as created_ms`,
      );
      const id = Number(row!.id);
      const reference = `${id}-${Number(row!.created_ms).toString(36)}`;
      const params = { MessageSid: sid, MessageStatus: 'delivered' };
      expect((await report(reference, params, sign(AUTH_TOKEN, reference, params))).status).toBe(204);
      const [settled] = await rows<{ status: string; provider_id: string; doubt_settled_by: string }>(
        database.orm,
        sql`select status, provider_id, doubt_settled_by from notification_delivery where id = ${id}`,
      );
      expect(settled).toEqual({ status: 'delivered', provider_id: sid, doubt_settled_by: 'reported' });
    },
  );

  it('When a report is forged or unsigned, then it is refused with 403 and nothing changes', async () => {
    const { id, reference } = await delivery('SM44444444444444444444444444444444');
    const params = { MessageSid: 'SM44444444444444444444444444444444', MessageStatus: 'failed' };
    const forged = await report(reference, params, sign('not-the-auth-token-0123456789abcd', reference, params));
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
    expect((await report(reference, params, null)).status).toBe(403);
    // A correct signature over other parameters does not cover these.
    const tampered = await report(
      reference,
      params,
      sign(AUTH_TOKEN, reference, { ...params, MessageStatus: 'queued' }),
    );
    expect(tampered.status).toBe(403);
    expect((await statusOf(id)).status).toBe('queued');
    expect(lines.filter((l) => String(l.msg).includes('signature missing or wrong'))).toHaveLength(3);
  });

  it('When TWILIO_STATUS_CALLBACK_URL is set (behind a proxy), then the signature is checked against that public URL', async () => {
    const publicUrl = 'https://inkorg.example.se/channels/twilio/status';
    const behindProxy = express();
    behindProxy.use(twilioStatusRouter({ database, log, authToken: AUTH_TOKEN, publicUrl }));
    const server = behindProxy.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { id, reference } = await delivery('SM55555555555555555555555555555555');
      const params = { MessageSid: 'SM55555555555555555555555555555555', MessageStatus: 'sent' };
      const post = (signature: string) =>
        fetch(`${local}/channels/twilio/status?delivery=${reference}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
          body: new URLSearchParams(params).toString(),
        });
      const signedForLocal = twilio.getExpectedTwilioSignature(
        AUTH_TOKEN,
        `${local}/channels/twilio/status?delivery=${reference}`,
        params,
      );
      expect((await post(signedForLocal)).status).toBe(403);
      const signedForPublic = twilio.getExpectedTwilioSignature(
        AUTH_TOKEN,
        `${publicUrl}?delivery=${reference}`,
        params,
      );
      expect((await post(signedForPublic)).status).toBe(204);
      expect((await statusOf(id)).status).toBe('sent');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
