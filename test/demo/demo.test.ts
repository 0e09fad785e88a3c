// The development demo, in-process: refused in production, off unless DEMO=true; with it, the demo
// source system is registered and one run of the sample notifications gives the test person the
// messages of every use case, through the real SOAP endpoint, queue, details fetcher (against the
// built-in producer) and message engine. Also: the start page, the Swedish 404, and the log line that
// says why notifications wait when no GetBookingDetails producer is configured.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { rows } from '../../src/db/database.js';
import { DEMO_RESIDENT, DEMO_SOURCE_SYSTEM, DEMO_USE_CASES } from '../../src/demo/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminToken, bearer, citizenToken } from '../helpers/auth.js';
import { engagement, notificationEnvelope, postNotification, TEST_SOURCE_SYSTEM } from '../helpers/soap.js';

const DEMO_API = '/api/admin/demo/notifications';

async function messageKinds(t: TestApp): Promise<Record<string, number>> {
  const found = await rows<{ kind: string; n: number }>(
    t.database.orm,
    sql`select kind, count(*)::int as n from inbox_message where resident = ${DEMO_RESIDENT} group by kind`,
  );
  return Object.fromEntries(found.map((row) => [row.kind, Number(row.n)]));
}

function expectedKinds(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const useCase of DEMO_USE_CASES) for (const kind of useCase.messages) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('DEMO configuration', () => {
  it('When DEMO=true is asked for in production, then the start is refused', () => {
    expect(() => loadConfig({ DEMO: 'true', APP_ENVIRONMENT: 'prod' })).toThrow(ConfigError);
    expect(() => loadConfig({ DEMO: 'true', NODE_ENV: 'production' })).toThrow(/development only/);
    expect(() => loadConfig({ DEMO: 'true', NTJP_GETBOOKINGDETAILS_URL: 'https://ntjp.example/gbd' })).toThrow(
      /NTJP_GETBOOKINGDETAILS_URL/,
    );
    expect(() => loadConfig({ DEMO: 'yes' })).toThrow(/DEMO must be "true" or "false"/);
  });

  it('When nothing is configured, then the demo is off', () => {
    expect(loadConfig({}).demo).toBe(false);
    expect(loadConfig({ DEMO: 'true' }).demo).toBe(true);
  });

  it('When INBOX_URL is set, then SMS and e-mail link there; it must be an http(s) URL; unset, the production inbox', () => {
    expect(loadConfig({}).inboxUrl).toBe('https://www.1177.se/inkorg');
    expect(loadConfig({ INBOX_URL: 'https://qa.example.se/inkorg' }).inboxUrl).toBe('https://qa.example.se/inkorg');
    expect(() => loadConfig({ INBOX_URL: 'javascript:alert(1)' })).toThrow(/INBOX_URL must be an http\(s\) URL/);
  });

  it('When retention periods are configured, then whole days of at least 1 are taken and anything else stops the start', () => {
    expect(loadConfig({}).retention).toMatchObject({
      queueDays: 7,
      deadLetterDays: 90,
      callDays: 30,
      redeliveryWindowSeconds: 300,
      rejectedDays: 30,
      postDays: 90,
      messageDays: 730,
      deliveryDays: 90,
      auditDays: 1825,
      intervalMinutes: 60,
      batchSize: 1000,
    });
    expect(loadConfig({ RETENTION_MESSAGE_DAYS: '365', RETENTION_INTERVAL_MINUTES: '0' }).retention).toMatchObject({
      messageDays: 365,
      intervalMinutes: 0,
    });
    expect(() => loadConfig({ RETENTION_QUEUE_DAYS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ RETENTION_POST_DAYS: '1.5' })).toThrow(/whole number/);
  });
});

describe('Without the demo and without a producer', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DEV_LOGIN: 'true' });
    await t.activate(TEST_SOURCE_SYSTEM);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('When a notification is accepted while NTJP_GETBOOKINGDETAILS_URL is not set, then a log line says why nothing is made', async () => {
    expect(t.logs.some((line) => String(line.msg).startsWith('NTJP_GETBOOKINGDETAILS_URL is not set'))).toBe(true);
    const answer = await postNotification(t.url, notificationEnvelope([engagement()]));
    expect(answer.resultCode).toBe('OK');
    const line = t.logs.find((entry) => String(entry.msg).startsWith('notifications accepted but not processed'));
    expect(line).toMatchObject({ level: 40, accepted: 1 });
    expect(String(line!.msg)).toContain('NTJP_GETBOOKINGDETAILS_URL is not set');
  });

  it('When the demo API is called, then it does not exist (JSON 404), and /admin shows no demo button', async () => {
    const response = await fetch(`${t.url}${DEMO_API}`, {
      method: 'POST',
      headers: bearer(await adminToken(t.app.config)),
    });
    expect(response.status).toBe(404);
    await expect(response.json()).resolves.toMatchObject({ error: { code: 'not_found' } });
    expect(t.app.demo).toBeUndefined();
    expect(t.app.directory.modeOf(DEMO_SOURCE_SYSTEM)).toBeUndefined();
  });

  it('When / is opened, then a Swedish start page points to /inbox and /admin', async () => {
    const response = await fetch(`${t.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).toContain('<html lang="sv">');
    expect(page).toContain('href="/inbox"');
    expect(page).toContain('href="/admin"');
    expect(page).not.toContain('Demonstrationsläge');
  });

  it('When an unknown page path is opened, then a Swedish 404 page answers; an unknown /api path stays a JSON 404', async () => {
    const response = await fetch(`${t.url}/finns/inte?x=<script>`);
    expect(response.status).toBe(404);
    const page = await response.text();
    expect(page).toContain('<h1>Sidan finns inte</h1>');
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('Cannot GET');
    const posted = await fetch(`${t.url}/inget`, { method: 'POST' });
    expect(posted.status).toBe(404);
    await expect(posted.text()).resolves.toContain('Sidan finns inte');
    const api = await fetch(`${t.url}/api/inget`);
    expect(api.status).toBe(404);
    await expect(api.json()).resolves.toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('With DEMO=true', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DEMO: 'true', DEV_LOGIN: 'true', REBOOK_WINDOW_SECONDS: '1' });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('When the service starts, then the demo source system is registered (audited) and the built-in producer is marked in the log', async () => {
    expect(t.app.directory.modeOf(DEMO_SOURCE_SYSTEM)).toBe('active');
    const [audit] = await rows<{ actor: string }>(
      t.database.orm,
      sql`select actor from audit_log where action = 'source_system.register'`,
    );
    expect(audit?.actor).toBe('demo');
    expect(
      t.logs.some((line) => String(line.msg).startsWith('DEMO: built-in development GetBookingDetails producer')),
    ).toBe(true);
    const ready = await fetch(`${t.url}/readyz`);
    await expect(ready.json()).resolves.toMatchObject({ checks: { detailsFetcher: 'configured' } });
  });

  it('When a citizen token calls the demo API, then it is refused', async () => {
    const response = await fetch(`${t.url}${DEMO_API}`, {
      method: 'POST',
      headers: bearer(await citizenToken(t.app.config)),
    });
    expect(response.status).toBe(403);
    const anonymous = await fetch(`${t.url}${DEMO_API}`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
  });

  it('When an administrator sends the sample notifications, then the test person gets the messages of every use case', async () => {
    const response = await fetch(`${t.url}${DEMO_API}`, {
      method: 'POST',
      headers: bearer(await adminToken(t.app.config)),
    });
    expect(response.status).toBe(200);
    const outcome = (await response.json()) as {
      ok: boolean;
      calls: number;
      transactions: number;
      messagesExpected: number;
    };
    expect(outcome).toMatchObject({ ok: true, calls: 6, transactions: 27, messagesExpected: 20 });

    // While the run's deletes are held, another run would turn them into rebookings: refused.
    const again = await fetch(`${t.url}${DEMO_API}`, {
      method: 'POST',
      headers: bearer(await adminToken(t.app.config)),
    });
    expect(again.status).toBe(409);
    await expect(again.json()).resolves.toMatchObject({ error: { code: 'demo_window_open' } });

    // The cancellations come when the rebooking window (1 s here) has ended.
    const expected = expectedKinds();
    for (let tries = 0; tries < 300; tries++) {
      if ((await messageKinds(t)).cancellation === expected.cancellation) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await messageKinds(t)).toEqual(expected);
    expect(Object.keys(expected).sort()).toEqual([
      'booking_confirmation',
      'cancellation',
      'invitation',
      'invitation_updated',
      'rebooking',
    ]);
    // The producer was asked through the real details fetcher (one call per new or changed post).
    expect(t.app.demo!.producer.calls).toBeGreaterThanOrEqual(19);
    // No call ended as a dead letter or a retry.
    const [left] = await rows<{ n: number }>(
      t.database.orm,
      sql`select count(*)::int as n from inbound_notification where status <> 'done'`,
    );
    expect(Number(left!.n)).toBe(0);
  });

  it('When a notification names a booking the producer does not have, then a log line says the producer is why nothing was made', async () => {
    const answer = await postNotification(
      t.url,
      notificationEnvelope([
        engagement({
          sourceSystem: DEMO_SOURCE_SYSTEM,
          logicalAddress: 'SE0000000000-DEMOVC1',
          businessObjectInstanceIdentifier: 'NOT-THERE',
        }),
      ]),
    );
    expect(answer.resultCode).toBe('OK');
    let line: Record<string, unknown> | undefined;
    for (let tries = 0; tries < 200 && !line; tries++) {
      line = t.logs.find(
        (entry) =>
          entry.msg === 'decision' && entry.outcome === 'no_message' && String(entry.because).includes('producer'),
      );
      if (!line) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(line).toBeDefined();
    expect(JSON.stringify(line)).not.toContain(DEMO_RESIDENT);
  });

  it('When / is opened, then the start page says the demo is running', async () => {
    await expect((await fetch(`${t.url}/`)).text()).resolves.toContain('Demonstrationsläge');
  });
});
