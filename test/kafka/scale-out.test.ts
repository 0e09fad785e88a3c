// Scale-out on a real Kafka broker: one ingest process and two worker processes (real child processes of
// src/main.ts with ROLES) sharing one PostgreSQL database. Each citizen gets a booking (one call), then a
// delete of it and a new booking (a later call): a confirmation, then one rebooking, in that order.
// 3,334 citizens = 10,002 notifications per scenario. Needs KAFKA_BROKERS and DATABASE_URL (README,
// "Running with Kafka"); without them the file says why it skips, and in CI it fails.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  answerBookings,
  BROKER_SCRIPT,
  kafkaSetup,
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
} from './helpers.js';

const setup = kafkaSetup();
const CITIZENS = 3334;

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

async function scenario(): Promise<ServiceEnvironment> {
  if (!setup.ready) throw new Error('unreachable');
  database = await openTestDatabase();
  await registerSourceSystem(database);
  return { databaseUrl: database.url!, brokers: setup.brokers, topicPrefix: newTopicPrefix(), producerUrl: producer.url };
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
    console.log(`10,002 notifications, 1 ingest + 2 workers: all messages ${(waited / 1000).toFixed(1)} s after the last call`);
  }, 400_000);
});
