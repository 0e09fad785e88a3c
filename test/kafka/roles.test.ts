// ROLES with Kafka: each role alone answers /healthz and /readyz (which checks the broker), and serves
// only its own routes. The broker and PostgreSQL come from the kafka project's global setup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logging.js';
import { startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort, newTopicPrefix } from './helpers.js';
import { kafkaSetup } from './setup.js';

const setup = kafkaSetup();
let database: TestDatabase;
let producer: BookingProducer;
const apps: App[] = [];

beforeAll(async () => {
  if (!setup.ready) return;
  database = await openTestDatabase(setup.databaseUrl);
  producer = await startBookingProducer();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await producer?.close();
  await database?.close();
});

async function startRole(roles: string, brokers: string, prefix: string): Promise<string> {
  const config = loadConfig({
    PORT: '0',
    ROLES: roles,
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    NTJP_GETBOOKINGDETAILS_URL: producer.url,
    CONSUMER_HSA_ID: 'SE-TEST-INBOX',
    // Hundreds of posts from care units new to this database: not a flood-guard test (the guard would hold them).
    FLOOD_GUARD_THRESHOLD: '0',
    AUTH_JWT_SECRET: 'roles-test-secret-roles-test-secret-0123456789',
    DATA_DIR: '.tmp/kafka-roles',
  });
  const app = await buildApp({ config, database, log: createLogger({ level: 'silent' }) });
  apps.push(app);
  return app.listen();
}

async function status(url: string, init?: RequestInit): Promise<number> {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return response.status;
}

describe.skipIf(!setup.ready)(`ROLES with Kafka${setup.ready ? '' : ` (skipped: ${setup.reason})`}`, () => {
  it('When each role runs alone, then /healthz and /readyz (with the broker) answer and only its own routes are served', async () => {
    const brokers = setup.ready ? setup.brokers : '';
    const prefix = newTopicPrefix();
    const soap = '/ProcessNotification/1/rivtabp21';
    const routes = {
      wsdl: `${soap}?wsdl`,
      inbox: '/inbox',
      admin: '/api/admin/dead-letters',
      settings: '/api/citizen/settings',
    };
    const served: Record<string, Record<string, number>> = {};
    for (const role of ['ingest', 'worker', 'sender', 'web']) {
      const url = await startRole(role, brokers, prefix);
      expect(await status(`${url}/healthz`)).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: { kafka?: string } }).checks.kafka).toBe('ok');
      served[role] = {};
      for (const [name, path] of Object.entries(routes)) served[role][name] = await status(`${url}${path}`);
      served[role].post = await status(`${url}${soap}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: '<x/>',
      });
    }
    // 404: not mounted in that role; anything else: the route is there (401 without a token, 400/500 for a bad body).
    const mounted = Object.fromEntries(
      Object.entries(served).map(([role, answers]) => [
        role,
        Object.keys(answers).filter((name) => answers[name] !== 404),
      ]),
    );
    expect(mounted).toEqual({
      ingest: ['wsdl', 'post'],
      worker: [],
      sender: [],
      web: ['inbox', 'admin', 'settings'],
    });
  });

  it('When no broker answers, then /readyz says so with 503', async () => {
    const port = await freePort();
    // The web role starts without Kafka (it neither produces nor consumes), and reports it missing.
    const url = await startRole('web', `127.0.0.1:${port}`, newTopicPrefix());
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { kafka?: string; database?: string } }).checks).toMatchObject({
      kafka: 'unreachable',
      database: 'ok',
    });
  });
});
