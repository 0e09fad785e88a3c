// The eight findings of the attack on the service (issue 13), each tried again over HTTP against the
// real service: one `describe` per finding, named by its number. Each failed on the main branch before
// the fixes (a hang counts as a failure: the test's own timeout ends it).
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { rows } from '../../src/db/database.js';
import { createDetailsFetcher, type DetailsFetcher } from '../../src/details-fetcher/index.js';
import { startTestApp, TEST_CONSUMER_HSA_ID, type TestApp } from '../helpers/app.js';
import { bearer, citizenToken, signedToken } from '../helpers/auth.js';
import { startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import { engagement, notificationEnvelope, postNotification, TEST_SOURCE_SYSTEM } from '../helpers/soap.js';
import { PageClient } from '../inbox/page-client.js';

const MB = 1024 * 1024;
const ROOT = path.resolve(import.meta.dirname, '../..');
const TABLES = ['notification_call', 'inbound_notification', 'rejected_transaction', 'ingest_post'];

async function counts(t: TestApp): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const table of TABLES) {
    const [row] = await rows<{ n: number }>(
      t.database.orm,
      sql`select count(*)::int as n from ${sql.identifier(table)}`,
    );
    result[table] = row!.n;
  }
  return result;
}

function cpuMicros(): number {
  const used = process.cpuUsage();
  return used.user + used.system;
}

/** A raw HTTP request (fetch cannot forge a Host header or stop half-way through a body). */
function rawRequest(
  url: string,
  options: { method: string; path: string; headers: Record<string, string | number>; body?: string; endBody?: boolean },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text });
          request.destroy();
        });
      },
    );
    request.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
    if (options.body !== undefined) request.write(options.body);
    if (options.endBody !== false) request.end();
  });
}

describe('Finding 1: one request froze the whole service (quadratic log masking of a long LogicalAddress)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLES: 'ingest' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(
    'When ProcessNotification carries a 1 MB LogicalAddress, then it is refused at the cost of any 1 MB call, /healthz answers, and no log line or fault carries the value',
    { timeout: 120_000 },
    async () => {
      // The baseline: a call of the same size, refused for a short wrong LogicalAddress (the megabyte in
      // a header element of another namespace, which the reader passes over).
      const padded = notificationEnvelope([engagement()], 'SE-SOMEONE-ELSE').replace(
        '<soapenv:Header>',
        `<soapenv:Header><pad:Padding xmlns:pad="urn:example:padding">${'x'.repeat(MB)}</pad:Padding>`,
      );
      const attack = notificationEnvelope([engagement()], 'x'.repeat(MB));
      await postNotification(t.url, padded); // warm up the path once

      const beforeBaseline = cpuMicros();
      const baseline = await postNotification(t.url, padded);
      const baselineCpu = cpuMicros() - beforeBaseline;
      expect(baseline).toMatchObject({ status: 500, faultcode: 'soap:Client' });

      const logsBefore = t.logs.length;
      const beforeAttack = cpuMicros();
      const [answer, health] = await Promise.all([postNotification(t.url, attack), fetch(`${t.url}/healthz`)]);
      const attackCpu = cpuMicros() - beforeAttack;

      expect(health.status).toBe(200);
      expect(answer).toMatchObject({ status: 500, faultcode: 'soap:Client' });
      expect(answer.faultstring).toMatch(/^LogicalAddress x{64}\.\.\. \(1048576 characters\) is not this service/);
      expect(answer.text.length).toBeLessThan(2_000);
      // Linear: a megabyte costs what a megabyte costs. Quadratic masking made this call cost over 300 s.
      expect(attackCpu).toBeLessThan(baselineCpu * 5 + 50_000);
      for (const line of t.logs.slice(logsBefore)) expect(JSON.stringify(line).length).toBeLessThan(4_000);
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    },
  );
});

describe('Finding 2: anyone could become national administrator without NODE_ENV=production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      APP_ENVIRONMENT: 'prod',
      DEV_LOGIN: 'false',
      OIDC_ISSUER: 'http://127.0.0.1:9/',
      OIDC_CLIENT_ID: 'ei-inbox',
      PUBLIC_BASE_URL: 'https://inkorgen.example.se',
      ROLES: 'web',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('When APP_ENVIRONMENT=prod runs without NODE_ENV, then POST /admin/logga-in signs nobody in and nothing can be registered', async () => {
    const page = new PageClient(t.url);
    expect((await page.get('/admin/logga-in')).text).not.toContain('Utvecklingsinloggning');
    const signIn = await page.post('/admin/logga-in', { name: 'anyone' });
    expect(signIn.status).toBe(403);
    expect(await page.get('/admin')).toMatchObject({ status: 303, location: '/admin/logga-in' });
    const register = await page.post('/admin/kallsystem', {
      environment: 'prod',
      hsaId: 'SE-EVIL',
      name: 'Evil',
      mode: 'active',
    });
    // Refused by the CSRF check (no page hands out a form here) or by the sign-in check: either way nothing is written.
    expect([303, 403]).toContain(register.status);
    const [row] = await rows<{ n: number }>(t.database.orm, sql`select count(*)::int as n from source_system`);
    expect(row!.n).toBe(0);
    // And the citizen pages offer no development sign-in either.
    expect((await page.post('/inbox/logga-in', { personalNumber: '191212121212' })).status).toBe(403);
  });

  it('When the development sign-in is on (embedded defaults), then a warning says so at start; in production there is none', async () => {
    const newcomer = await startTestApp({ ROLES: 'web' });
    try {
      expect(
        newcomer.logs.some((line) => line.level === 40 && String(line.msg).startsWith('development sign-in is ON')),
      ).toBe(true);
    } finally {
      await newcomer.close();
    }
    expect(t.logs.some((line) => String(line.msg).startsWith('development sign-in is ON'))).toBe(false);
  });

  it('When DEV_LOGIN=true is combined with APP_ENVIRONMENT=prod, then the service refuses to start (exit code 2)', () => {
    expect(() => loadConfig({ APP_ENVIRONMENT: 'prod', DEV_LOGIN: 'true' })).toThrow(ConfigError);
    expect(loadConfig({ APP_ENVIRONMENT: 'prod' }).developmentSignIn).toBe(false);
    // A real database means a real deployment: no development sign-in unless asked for.
    expect(loadConfig({ DATABASE_URL: 'postgres://db.example/inbox' }).developmentSignIn).toBe(false);
    const started = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        APP_ENVIRONMENT: 'prod',
        DEV_LOGIN: 'true',
        PORT: '0',
        DATA_DIR: '.tmp/never-used',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(started.status).toBe(2);
    expect(started.stderr).toContain('DEV_LOGIN=true is not allowed with APP_ENVIRONMENT=prod');
  });
});

describe('Finding 3: pages leaked SQL, parameters and stack traces on errors; /api answered 500 for malformed input', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLES: 'web' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const SECRETS = ['199107232389', '19910723', '+46701234567', '0701234567', '199001019995'];
  function expectNothingLeaked(text: string, alsoRefused: string[] = ['Failed query']): void {
    for (const leak of [
      ...alsoRefused,
      'insert into',
      'params',
      'URIError',
      'PayloadTooLargeError',
      '    at ',
      'node_modules',
      ...SECRETS,
    ]) {
      expect(text).not.toContain(leak);
    }
  }

  it('When the database refuses a settings write on /inbox/installningar, then the Swedish error page and the log carry no SQL, parameter or stack', async () => {
    const page = new PageClient(t.url);
    await page.signIn('199107232389');
    await page.get('/inbox');
    // A database fault of any kind: a constraint the write must break.
    await t.database.orm.execute(
      sql`alter table citizen_channel_settings add constraint forced_failure check (sms_phone is null) not valid`,
    );
    const logsBefore = t.logs.length;
    const answer = await page.post('/inbox/installningar', {
      smsEnabled: 'ja',
      phone: '070-123 45 67',
      emailEnabled: '',
      address: '',
    });
    await t.database.orm.execute(sql`alter table citizen_channel_settings drop constraint forced_failure`);
    expect(answer.status).toBe(500);
    expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
    expect(answer.text).toContain('Något gick fel');
    expectNothingLeaked(answer.text);
    const logged = JSON.stringify(t.logs.slice(logsBefore));
    expect(logged).toContain('page request failed');
    // The log may say that a query failed and the database's reason (its code 23514), never the query.
    expect(logged).toContain('23514');
    expectNothingLeaked(logged, ['select ', '"citizen_channel_settings" ("']);
  });

  it('When a page URL has a bad percent-escape, then it is a 400 Swedish page and the log has neither the value nor a stack', async () => {
    const page = new PageClient(t.url);
    await page.signIn('191212121212');
    const logsBefore = t.logs.length;
    const answer = await page.get('/inbox/meddelanden/199001019995%ZZ');
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('Felaktig förfrågan');
    expectNothingLeaked(answer.text);
    expectNothingLeaked(JSON.stringify(t.logs.slice(logsBefore)));
  });

  it('When a form is larger than allowed, then it is a 413 Swedish page without a stack trace', async () => {
    const page = new PageClient(t.url);
    await page.signIn('191212121212');
    await page.get('/inbox');
    const answer = await page.post('/inbox/installningar', { address: 'a'.repeat(20_000) });
    expect(answer.status).toBe(413);
    expect(answer.text).toContain('För mycket innehåll');
    expectNothingLeaked(answer.text);
  });

  it('When /api gets a bad percent-escape or a body too large, then it answers 400 / 413 in JSON, not 500', async () => {
    const token = await citizenToken(t.app.config);
    const badPath = await fetch(`${t.url}/api/inbox/messages/%ZZ`, { headers: bearer(token) });
    expect(badPath.status).toBe(400);
    expect(await badPath.json()).toMatchObject({ error: { code: 'invalid_path' } });
    const tooLarge = await fetch(`${t.url}/api/citizen/settings`, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ email: { address: 'a'.repeat(20_000) } }),
    });
    expect(tooLarge.status).toBe(413);
    const unknown = await fetch(`${t.url}/api/inbox/messages/not-a-number`, { headers: bearer(token) });
    expect([400, 404]).toContain(unknown.status);
  });
});

describe('Finding 4: sign-out did not end the session', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLES: 'web' });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function openInbox(cookie: string): Promise<Response> {
    return fetch(`${t.url}/inbox`, { headers: { cookie }, redirect: 'manual' });
  }

  it('When a citizen signs out, then the old cookie no longer opens /inbox', async () => {
    const page = new PageClient(t.url);
    await page.signIn('191212121212');
    const oldCookie = page.cookieHeader();
    expect((await openInbox(oldCookie)).status).toBe(200);
    await page.get('/inbox');
    expect(await page.post('/inbox/logga-ut')).toMatchObject({ status: 303 });
    const replay = await openInbox(oldCookie);
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/inbox/logga-in');
  });

  it('When a session has been idle longer than SESSION_IDLE_MINUTES, then it is ended and its cookie refused', async () => {
    const page = new PageClient(t.url);
    await page.signIn('191212121213');
    const cookie = page.cookieHeader();
    expect((await openInbox(cookie)).status).toBe(200);
    await t.database.orm.execute(
      sql`update web_session set last_seen_at = now() - interval '31 minutes' where ended_at is null and subject = '191212121213'`,
    );
    expect((await openInbox(cookie)).status).toBe(303);
    const [row] = await rows<{ end_reason: string }>(
      t.database.orm,
      sql`select end_reason from web_session where subject = '191212121213'`,
    );
    expect(row!.end_reason).toBe('idle');
  });
});

describe('Finding 5: tokens of other audiences and issuers were accepted; `sub` could be a number or a list', () => {
  let t: TestApp;
  const ISSUER = 'https://idp.example.se/';
  beforeAll(async () => {
    t = await startTestApp({
      ROLES: 'web',
      AUTH_JWT_SECRET: 'a-test-secret-that-is-long-enough-for-hs256',
      AUTH_JWT_AUDIENCE: 'ei-inbox',
      AUTH_JWT_ISSUER: ISSUER,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function statusWith(claims: Record<string, unknown>): Promise<number> {
    const token = await signedToken(t.app.config, claims);
    return (await fetch(`${t.url}/api/inbox/messages`, { headers: bearer(token) })).status;
  }

  it('When a token is for another audience or from another issuer, then it is refused; ours is accepted', async () => {
    expect(await statusWith({ sub: '191212121212', aud: 'ei-inbox', iss: ISSUER })).toBe(200);
    expect(await statusWith({ sub: '191212121212', aud: 'another-service', iss: ISSUER })).toBe(401);
    expect(await statusWith({ sub: '191212121212', iss: ISSUER })).toBe(401);
    expect(await statusWith({ sub: '191212121212', aud: 'ei-inbox', iss: 'https://evil.example/' })).toBe(401);
  });

  it('When `sub` is a number or a list, then the token is refused', async () => {
    expect(await statusWith({ sub: 191212121212, aud: 'ei-inbox', iss: ISSUER })).toBe(401);
    expect(await statusWith({ sub: ['191212121212'], aud: 'ei-inbox', iss: ISSUER })).toBe(401);
  });

  it('When AUTH_JWKS_URL is set without AUTH_JWT_AUDIENCE and AUTH_JWT_ISSUER, then the service does not start', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp.example.se/jwks' })).toThrow(
      /AUTH_JWT_AUDIENCE and AUTH_JWT_ISSUER/,
    );
    expect(
      loadConfig({ AUTH_JWKS_URL: 'https://idp.example.se/jwks', AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_ISSUER: 'b' }).auth,
    ).toMatchObject({ audience: 'a', issuer: 'b' });
  });
});

describe('Finding 6: a browser could post to ProcessNotification (text/plain, forms, JSON, multipart)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ROLES: 'ingest' });
    await t.activate(TEST_SOURCE_SYSTEM);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json',
    'application/xml',
  ])('When a valid delete arrives as %s, then it is a soap:Client fault and nothing is stored', async (contentType) => {
    const before = await counts(t);
    const answer = await postNotification(t.url, notificationEnvelope([engagement({ deleteFlag: true })]), {
      'content-type': contentType,
    });
    expect(answer).toMatchObject({
      status: 500,
      faultcode: 'soap:Client',
      faultstring: 'Content-Type must be text/xml (SOAP 1.1)',
    });
    expect(await counts(t)).toEqual(before);
  });

  it(
    'When the content type is wrong, then the fault comes before the body is read (the body never arrives)',
    { timeout: 30_000 },
    async () => {
      const answer = await rawRequest(t.url, {
        method: 'POST',
        path: '/ProcessNotification/1/rivtabp21',
        headers: { 'content-type': 'text/plain', 'content-length': 1_000_000 },
        body: '<soapenv:Envelope',
        endBody: false,
      });
      expect(answer.status).toBe(500);
      expect(answer.text).toContain('Content-Type must be text/xml');
    },
  );

  it('When the same call is text/xml, then it is taken (the check refuses only what is not SOAP 1.1)', async () => {
    const answer = await postNotification(t.url, notificationEnvelope([engagement()]));
    expect(answer).toMatchObject({ status: 200, resultCode: 'OK' });
    expect(TEST_CONSUMER_HSA_ID).toBe('SE-TEST-INBOX');
  });
});

describe('Finding 7: the Host header was reflected into the WSDL (and OIDC redirects)', () => {
  const EVIL_HOST = 'evil.example"><x:evil xmlns:x="urn:evil"/><x';
  let withoutBase: TestApp;
  let withBase: TestApp;
  beforeAll(async () => {
    withoutBase = await startTestApp({ ROLES: 'ingest' });
    withBase = await startTestApp({ ROLES: 'ingest', PUBLIC_BASE_URL: 'https://ei-inbox.example.se/' });
  });
  afterAll(async () => {
    await withoutBase?.close();
    await withBase?.close();
  });

  function wsdlWithHost(t: TestApp, host: string) {
    return rawRequest(t.url, { method: 'GET', path: '/ProcessNotification/1/rivtabp21?wsdl', headers: { host } });
  }

  it('When ?wsdl is asked for with a forged Host, then no markup of it comes back', async () => {
    const answer = await wsdlWithHost(withoutBase, EVIL_HOST);
    expect(answer.status).toBe(200);
    expect(answer.text).not.toContain('x:evil');
    expect(answer.text).not.toContain('evil.example');
    expect(answer.text).toMatch(/<soap:address location="http:\/\/localhost\/ProcessNotification\/1\/rivtabp21"/);
    // A plain host name is still used when nothing is configured (development).
    expect((await wsdlWithHost(withoutBase, 'ei.test:8080')).text).toContain(
      'location="http://ei.test:8080/ProcessNotification/1/rivtabp21"',
    );
  });

  it('When PUBLIC_BASE_URL is set, then soap:address is that URL whatever the Host says', async () => {
    const answer = await wsdlWithHost(withBase, 'other.example');
    expect(answer.text).toContain(
      '<soap:address location="https://ei-inbox.example.se/ProcessNotification/1/rivtabp21"',
    );
    expect(answer.text).not.toContain('other.example');
  });

  it('When OpenID Connect is configured, then its redirect needs PUBLIC_BASE_URL or OIDC_REDIRECT_URI (never the Host)', () => {
    expect(() => loadConfig({ OIDC_ISSUER: 'https://idp.example.se', OIDC_CLIENT_ID: 'x' })).toThrow(
      /PUBLIC_BASE_URL or OIDC_REDIRECT_URI/,
    );
    expect(() => loadConfig({ ADMIN_OIDC_ISSUER: 'https://idp.example.se', ADMIN_OIDC_CLIENT_ID: 'x' })).toThrow(
      /PUBLIC_BASE_URL or ADMIN_OIDC_REDIRECT_URI/,
    );
    expect(() => loadConfig({ PUBLIC_BASE_URL: 'https://a.example/?x=1' })).toThrow(ConfigError);
  });
});

describe('Finding 8: per-logical-address state grew without bound with the addresses EI sends', () => {
  let t: TestApp;
  let producer: BookingProducer;
  let fetcher: DetailsFetcher & { breakers(): { open: number; halfOpen: number; addresses: number } };
  const MAX_ADDRESSES = 20;
  const ADDRESSES = 60;

  beforeAll(async () => {
    producer = await startBookingProducer();
    // Every producer is down: each address keeps a failure count (the state that used to stay forever).
    producer.handle(() => ({ status: 503 }));
    fetcher = (await createDetailsFetcher({
      config: loadConfig({}),
      url: producer.url,
      maxAddresses: MAX_ADDRESSES,
    })) as typeof fetcher;
    t = await startTestApp({}, { detailsFetcher: fetcher, engine: { pollMs: 20 } });
    await t.activate(TEST_SOURCE_SYSTEM);
  });
  afterAll(async () => {
    await t?.close();
    await fetcher?.close();
    await producer?.close();
  });

  it(
    'When notifications name more logical addresses than the guard keeps, then it keeps at most its bound and /metrics names at most ten',
    { timeout: 120_000 },
    async () => {
      const transactions = Array.from({ length: ADDRESSES }, (_, i) =>
        engagement({
          logicalAddress: `SE-ADDR-${i}`,
          businessObjectInstanceIdentifier: `BOK-${i}`,
          registeredResidentIdentification: `1980010${String(10000 + i).slice(-5)}`,
        }),
      );
      expect(await postNotification(t.url, notificationEnvelope(transactions))).toMatchObject({
        status: 200,
        resultCode: 'OK',
      });
      // Wait (bounded by the test's timeout) until every address was called at least once.
      while (new Set(producer.requests.map((request) => request.logicalAddress)).size < ADDRESSES) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(fetcher.breakers().addresses).toBeLessThanOrEqual(MAX_ADDRESSES);
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      // Addresses appear only as the waiting-for-producer gauges' labels, and those are capped (ten named, the rest 'other').
      const named = metrics.split('\n').filter((line) => line.includes('SE-ADDR'));
      expect(named.every((line) => line.startsWith('ei_queue_waiting_for_producer'))).toBe(true);
      const addresses = new Set(named.map((line) => /logical_address="([^"]{1,64})"/.exec(line)?.[1]));
      expect(addresses.size).toBeLessThanOrEqual(10);
      expect(metrics).toMatch(/ei_details_breakers\{state="open"\} \d+/);
    },
  );
});
