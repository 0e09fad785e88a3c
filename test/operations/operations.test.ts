// Operations in the real app: /metrics after real traffic, the correlation id on every log line of a
// call, the masking of personal data in logs, and a graceful stop with a call in flight.
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { createLogger } from '../../src/logging.js';
import { bearer, citizenToken } from '../helpers/auth.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { sampleTimeslot, startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import {
  engagement,
  notificationEnvelope,
  postNotification,
  PROCESS_NOTIFICATION_SOAP_ACTION,
  TEST_SOURCE_SYSTEM,
} from '../helpers/soap.js';
import { temporaryDirectory } from '../channels/helpers.js';

const SECRET = 'operations-test-secret-0123456789abcdef01';
const UNIT = 'SE2321000016-VC4';
const RESIDENT = '199702142382';
const PHONE = '0701112233';

/** One metric's value from the Prometheus text format (0 when absent). */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function until(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('metrics and logs of the running service', () => {
  let producer: BookingProducer;
  let t: TestApp;
  const dataDir = temporaryDirectory();

  beforeAll(async () => {
    producer = await startBookingProducer();
    t = await startTestApp({
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: SECRET,
      NOTIFY_DIGEST_SECONDS: '0',
      SMS_QUIET_HOURS: '',
    });
    await t.activate(TEST_SOURCE_SYSTEM);
  });
  afterAll(async () => {
    await t?.close();
    await producer?.close();
  });

  it('When calls, messages and an SMS went through, then /metrics counts each by outcome, kind and channel', async () => {
    const token = await citizenToken({ auth: { jwtSecret: SECRET, jwksUrl: undefined }, dataDir }, RESIDENT);
    const saved = await fetch(`${t.url}/api/citizen/settings`, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ sms: { enabled: true, phone: PHONE } }),
    });
    expect(saved.status).toBe(200);
    producer.addBooking(
      UNIT,
      'OPS-1',
      sampleTimeslot({ subjectOfCare: RESIDENT, startTimeInclusive: '20270115093000' }),
    );
    const booking = engagement({
      registeredResidentIdentification: RESIDENT,
      logicalAddress: UNIT,
      businessObjectInstanceIdentifier: 'OPS-1',
    });

    expect((await postNotification(t.url, notificationEnvelope([booking]))).resultCode).toBe('OK');
    // The same call again: a duplicate, not a second message.
    expect((await postNotification(t.url, notificationEnvelope([booking]))).resultCode).toBe('OK');
    // One good transaction, one outside the booking domain (ignored), one without a resident (rejected).
    const mixed = await postNotification(
      t.url,
      notificationEnvelope([
        engagement({
          registeredResidentIdentification: '200005052399',
          logicalAddress: UNIT,
          businessObjectInstanceIdentifier: 'OPS-2',
        }),
        engagement({
          serviceDomain: 'riv:clinicalprocess:activity:request',
          businessObjectInstanceIdentifier: 'OPS-3',
        }),
        engagement({ registeredResidentIdentification: '', businessObjectInstanceIdentifier: 'OPS-4' }),
      ]),
    );
    expect(mixed.resultCode).toBe('ERROR');
    expect((await postNotification(t.url, '<not-soap/>')).faultcode).toBe('soap:Client');

    let text = '';
    await until(async () => {
      text = await (await fetch(`${t.url}/metrics`)).text();
      return (
        metric(text, 'ei_channel_sends_total', { channel: 'sms' }) >= 1 &&
        metric(text, 'ei_engine_notifications_total', { result: 'done' }) >= 2
      );
    }).catch((error: unknown) => {
      throw new Error(
        `${String(error)}\n${text
          .split('\n')
          .filter((l) => l.startsWith('ei_') && !l.startsWith('ei_process') && !l.startsWith('ei_nodejs'))
          .join('\n')}`,
      );
    });
    expect(metric(text, 'ei_ingest_calls_total', { result: 'ok' })).toBe(2);
    expect(metric(text, 'ei_ingest_calls_total', { result: 'error' })).toBe(1);
    expect(metric(text, 'ei_ingest_calls_total', { result: 'fault' })).toBe(1);
    expect(metric(text, 'ei_ingest_refused_total', { faultcode: 'Client' })).toBe(1);
    expect(metric(text, 'ei_ingest_transactions_total', { outcome: 'received' })).toBe(5);
    expect(metric(text, 'ei_ingest_transactions_total', { outcome: 'accepted' })).toBe(2);
    expect(metric(text, 'ei_ingest_transactions_total', { outcome: 'duplicate' })).toBe(1);
    expect(metric(text, 'ei_ingest_transactions_total', { outcome: 'ignored' })).toBe(1);
    expect(metric(text, 'ei_ingest_transactions_total', { outcome: 'rejected' })).toBe(1);
    expect(metric(text, 'ei_messages_created_total', { kind: 'booking_confirmation' })).toBe(1);
    expect(metric(text, 'ei_details_fetch_total', { outcome: 'found' })).toBe(1);
    // OPS-2 is not known to the producer: "not found" is a permanent answer, not a failure of the call.
    expect(metric(text, 'ei_details_fetch_total', { outcome: 'not-found' })).toBe(1);
    expect(metric(text, 'ei_details_fetch_duration_seconds_count', { outcome: 'found' })).toBe(1);
    expect(
      metric(text, 'ei_channel_sends_total', { channel: 'sms', status: 'sent' }) +
        metric(text, 'ei_channel_sends_total', { channel: 'sms', status: 'queued' }),
    ).toBe(1);
    expect(metric(text, 'ei_queue_pending')).toBe(0);
    expect(text).toMatch(/^ei_queue_oldest_pending_age_seconds 0$/m);
    expect(text).toMatch(/^ei_details_breakers\{state="open"\} 0$/m);
    expect(text).toMatch(/^ei_process_resident_memory_bytes \d+/m);
    // Bounded labels: no resident, booking id or phone number anywhere in the exposition.
    expect(text).not.toMatch(/199702142382|OPS-1|0701112233|701112233/);
  }, 40_000);

  it('When a call is made, then every log line written for it carries its correlation id, and the access line has no query string', async () => {
    const before = t.logs.length;
    const id = 'skltp-corr-4711';
    const answer = await postNotification(
      `${t.url}`,
      notificationEnvelope([
        engagement({
          registeredResidentIdentification: '198811309281',
          logicalAddress: UNIT,
          businessObjectInstanceIdentifier: 'OPS-5',
        }),
      ]),
      { 'x-skltp-correlation-id': id },
    );
    expect(answer.resultCode).toBe('OK');
    await until(() => t.logs.slice(before).some((line) => line.msg === 'http request' && line.correlationId === id));
    const ofCall = t.logs.slice(before).filter((line) => JSON.stringify(line).includes(id));
    expect(ofCall.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['ProcessNotification stored', 'http request']),
    );
    for (const line of t.logs.slice(before)) {
      if (line.msg === 'ProcessNotification stored' || line.msg === 'http request') expect(line.correlationId).toBe(id);
    }
    const access = ofCall.find((line) => line.msg === 'http request') as { http: Record<string, unknown> };
    expect(access.http).toMatchObject({ method: 'POST', path: '/ProcessNotification/1/rivtabp21', status: 200 });

    // Without the platform's id the service makes one, echoes it, and logs it.
    const response = await fetch(`${t.url}/readyz?pnr=191212121212`);
    const made = response.headers.get('x-correlation-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => t.logs.some((line) => line.correlationId === made && line.msg === 'http request'));
    const line = t.logs.find((l) => l.correlationId === made && l.msg === 'http request') as { http: { path: string } };
    expect(line.http.path).toBe('/readyz');
    // A correlation id that is not a plain token is not taken (it could carry anything).
    const odd = await fetch(`${t.url}/healthz`, { headers: { 'x-skltp-correlation-id': 'a b <191212121212>' } });
    expect(odd.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('When the whole run is searched, then no log line holds an identity number, phone number or e-mail address', () => {
    const all = t.logs.map((line) => JSON.stringify(line)).join('\n');
    expect(t.logs.length).toBeGreaterThan(10);
    expect(all).not.toMatch(/199702142382|200005052399|198811309281|191212121212/);
    expect(all).not.toMatch(/0701112233|\+46701112233/);
    expect(all).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/);
  });
});

describe('log masking', () => {
  it('When personal data is logged in fields, free text, nested objects and errors, then none of it reaches the output', () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    log.info(
      { resident: '191212121212', to: '+46701234567', body: 'Din tid hos barnmorskan', recipient: 'anna@example.se' },
      'sent',
    );
    log.warn(
      { detail: { note: 'call 070-123 45 67 or +46 70 123 45 67, mail anna.b@example.se about 19121212-1212' } },
      'nested',
    );
    log.error(
      { err: new Error('producer said: subject 121212-1212 does not match') },
      'failed for 191212121212 (anna@example.se)',
    );
    log
      .child({ correlationId: 'x' })
      .info({ subject: 'Kallelse till aborrtmottagningen', text: 'message text' }, 'child line');
    const out = lines.join('');
    expect(lines).toHaveLength(4);
    expect(out).not.toMatch(
      /191212121212|19121212-1212|121212-1212|0701234567|701234567|070-123 45 67|\+46 70 123 45 67/,
    );
    expect(out).not.toMatch(/anna(\.b)?@example\.se/);
    expect(out).not.toMatch(/barnmorskan|aborrtmottagningen|message text/);
    expect(out).toContain('[personnummer]');
    expect(out).toContain('[phone]');
    expect(out).toContain('[e-mail]');
    // Organisation numbers and HSA-ids stay readable for operators.
    log.info({ logicalAddress: 'SE2321000016-VC4', dataController: '162321000255' }, 'ids');
    expect(lines[4]).toContain('SE2321000016-VC4');
    expect(lines[4]).toContain('162321000255');
  });
});

describe('graceful shutdown', () => {
  it('When the app is closed with a slow call in flight, then that call completes, new connections are refused, and close resolves', async () => {
    const t = await startTestApp({ ROLES: 'ingest' });
    await t.activate(TEST_SOURCE_SYSTEM);
    const { port } = new URL(t.url);
    const body = Buffer.from(notificationEnvelope([engagement({ businessObjectInstanceIdentifier: 'OPS-SLOW' })]));

    // The slow call: headers and half the body now, the rest once the close has begun and been checked
    // (sent by the test, not by a timer: a loaded machine could fire a timer before the checks).
    let finish = (): void => {};
    const answer = new Promise<{ status: number; text: string; connection: string | undefined }>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: Number(port),
          method: 'POST',
          path: '/ProcessNotification/1/rivtabp21',
          headers: {
            'content-type': 'text/xml; charset=utf-8',
            soapaction: PROCESS_NOTIFICATION_SOAP_ACTION,
            'content-length': body.length,
          },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text, connection: response.headers.connection }),
          );
        },
      );
      request.on('error', reject);
      request.write(body.subarray(0, 200));
      finish = () => request.end(body.subarray(200));
    });
    await new Promise((resolve) => setTimeout(resolve, 200));

    let closed = false;
    const closing = t.app.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(closed).toBe(false);

    finish();
    const result = await answer;
    expect(result.status).toBe(200);
    expect(result.text).toMatch(/ResultCode>OK</);
    expect(result.connection).toBe('close');
    await closing;
    expect(closed).toBe(true);
    // Stored before the answer said OK, and the database was left open for the caller (it owns it).
    const [row] = await rows<{ n: number }>(t.database.orm, sql`select count(*)::int as n from inbound_notification`);
    expect(Number(row!.n)).toBe(1);
    await t.database.close();
  }, 20_000);
});
