// Scale-out on a real Kafka broker: one ingest process and two worker processes (real child processes of
// src/main.ts with ROLES) sharing one PostgreSQL database. Each citizen gets a booking (one call), then a
// delete of it and a new booking (a later call): a confirmation, then one rebooking, in that order.
// 3,334 citizens = 10,002 notifications per scenario. The broker and PostgreSQL come from the kafka
// project's global setup (global-setup.ts); without them the file says why it skips, and in CI it fails.
import { execFileSync } from 'node:child_process';
import { sql as sqlTag } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  answerBookings,
  BROKER_SCRIPT,
  newTopicPrefix,
  outcome,
  registerSourceSystem,
  sendTraffic,
  sleep,
  startService,
  stopService,
  topicProgress,
  waitForMessages,
  type Service,
  type ServiceEnvironment,
  type TrafficReport,
} from './helpers.js';
import { kafkaSetup } from './setup.js';

const setup = kafkaSetup();
const CITIZENS = 3334;
// The restart test stops and starts the broker with test/kafka/broker.sh: only a broker the setup started.
const managed = setup.ready ? setup.managed : undefined;
if (setup.ready && !managed)
  console.warn(
    '[Kafka restart test skipped] KAFKA_BROKERS was given: the test does not stop a broker it did not start',
  );

function broker(command: 'start' | 'stop'): void {
  execFileSync(BROKER_SCRIPT, [command], {
    env: { ...process.env, KAFKA_PORT: managed!.port, KAFKA_RUN_DIR: managed!.runDir },
    stdio: 'ignore',
    timeout: 90_000,
  });
}

async function count(query: string): Promise<number> {
  const result = (await database!.orm.execute(sqlText(query))) as unknown as
    { count: number }[] | { rows: { count: number }[] };
  const list = Array.isArray(result) ? result : result.rows;
  return Number(list[0]?.count ?? 0);
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}

let producer: BookingProducer;
let services: Service[] = [];
let database: TestDatabase | undefined;

beforeAll(async () => {
  if (!setup.ready) return;
  producer = await startBookingProducer();
  answerBookings(producer, 20);
});

afterEach(async () => {
  await Promise.all(services.map((service) => stopService(service, 'SIGKILL')));
  services = [];
  await database?.close();
  database = undefined;
});

afterAll(async () => {
  await producer?.close();
});

const sqlText = (query: string) => sqlTag.raw(query);

async function scenario(): Promise<ServiceEnvironment> {
  if (!setup.ready) throw new Error('unreachable');
  database = await openTestDatabase(setup.databaseUrl);
  await registerSourceSystem(database);
  return {
    databaseUrl: database.url!,
    brokers: setup.brokers,
    topicPrefix: newTopicPrefix(),
    producerUrl: producer.url,
  };
}

async function start(roles: string, environment: ServiceEnvironment, extra?: Record<string, string>): Promise<Service> {
  const service = await startService(roles, { ...environment, ...(extra ? { extra } : {}) });
  services.push(service);
  return service;
}

function expectExactlyOnceInOrder(result: Awaited<ReturnType<typeof outcome>>): void {
  expect(result).toEqual({
    notifications: 3 * CITIZENS,
    pending: 0,
    dead: 0,
    confirmations: CITIZENS,
    rebookings: CITIZENS,
    cancellations: 0,
    messages: 2 * CITIZENS,
    distinctMessages: 2 * CITIZENS,
    inOrder: CITIZENS,
    requests: 2 * CITIZENS,
    heldOpen: 0,
  });
}

describe.skipIf(!setup.ready)(`scale-out on Kafka${setup.ready ? '' : ` (skipped: ${setup.reason})`}`, () => {
  it('When one ingest and two workers take 10,002 notifications over Kafka, then every message exists exactly once and in order per citizen', async () => {
    const environment = await scenario();
    const ingest = await start('ingest', environment);
    await start('worker', environment);
    await start('worker', environment);

    const traffic = await sendTraffic(() => ingest.url, CITIZENS);
    expect(traffic.refused).toBe(0);
    const waited = await waitForMessages(database!, CITIZENS, 240_000);
    await sleep(1500);
    expectExactlyOnceInOrder(await outcome(database!));

    // The work went through Kafka: one record per queued notification, all committed by a group of two.
    const progress = await topicProgress(setup.ready ? setup.brokers : '', environment.topicPrefix);
    expect(progress).toEqual({ written: 3 * CITIZENS, committed: 3 * CITIZENS, members: 2 });
    console.log(
      `10,002 notifications, 1 ingest + 2 workers: all messages ${(waited / 1000).toFixed(1)} s after the last call`,
    );
  }, 400_000);

  it.skipIf(!managed)(
    'When the broker is stopped and restarted in the middle, then ingest answers soap:Server meanwhile and every accepted notification gives its messages exactly once',
    async () => {
      const environment = await scenario();
      const ingest = await start('ingest', environment);
      await start('worker', environment);
      await start('worker', environment);

      // A third of the citizens before the outage, the rest sent while the broker is away (and retried
      // by the traffic, as EI does), so that the outage always falls in the middle of the traffic.
      const before = Math.floor(CITIZENS / 3);
      const report: TrafficReport = { calls: 0, refused: 0, faultcodes: [] };
      await sendTraffic(() => ingest.url, before, { report });
      broker('stop');
      const refusedAnswer = await fetch(`${ingest.url}/readyz`).then((r) => r.status);
      expect(refusedAnswer).toBe(503);
      const traffic = sendTraffic(() => ingest.url, CITIZENS - before, { first: before, report });
      await until(async () => report.refused > 0, 60_000);
      await sleep(2000);
      broker('start');
      await traffic;
      expect(report.refused).toBeGreaterThan(0);
      expect(report.faultcodes).toEqual(['soap:Server']);
      await waitForMessages(database!, CITIZENS, 240_000);
      await sleep(1500);
      expectExactlyOnceInOrder(await outcome(database!));
      const progress = await topicProgress(setup.ready ? setup.brokers : '', environment.topicPrefix);
      expect(progress.members).toBe(2);
      // Every accepted notification is on the topic (a refused call's records may be there too, unclaimed).
      expect(progress.written).toBeGreaterThanOrEqual(3 * CITIZENS);
      expect(progress.committed).toBe(progress.written);
      console.log(`broker restart: ${report.refused} calls refused while it was away, all retried and accepted`);
    },
    400_000,
  );

  it('When one of two workers is killed with SIGKILL in the middle, then every message still exists exactly once and in order', async () => {
    const environment = await scenario();
    const ingest = await start('ingest', environment);
    await start('worker', environment, { WORKER_LEASE_SECONDS: '5' });
    const victim = await start('worker', environment, { WORKER_LEASE_SECONDS: '5' });

    const traffic = sendTraffic(() => ingest.url, CITIZENS);
    await until(async () => (await count('select count(*)::int as count from inbox_message')) >= CITIZENS / 2, 120_000);
    // Leased rows in its hands at the moment of death: they wait for the lease, then another takes them.
    const leased = await count(
      `select count(*)::int as count from inbound_notification where status = 'pending' and lease_owner is not null`,
    );
    await stopService(victim, 'SIGKILL');
    const report = await traffic;
    expect(report.refused).toBe(0);
    await waitForMessages(database!, CITIZENS, 240_000);
    await sleep(1500);
    expectExactlyOnceInOrder(await outcome(database!));
    // The group notices the death after its session timeout; the survivor takes the dead one's
    // partitions and works through (claims nothing, all done) what was left uncommitted there.
    let progress = await topicProgress(setup.ready ? setup.brokers : '', environment.topicPrefix);
    const deadline = Date.now() + 60_000;
    while ((progress.members !== 1 || progress.committed !== progress.written) && Date.now() < deadline) {
      await sleep(500);
      progress = await topicProgress(setup.ready ? setup.brokers : '', environment.topicPrefix);
    }
    expect(progress).toEqual({ written: 3 * CITIZENS, committed: 3 * CITIZENS, members: 1 });
    expectExactlyOnceInOrder(await outcome(database!));
    console.log(`worker killed with ${leased} notifications leased (both workers); the survivor finished`);
  }, 400_000);
});
