// npm run bench:kafka: end-to-end notifications/s over Kafka with one worker process and with two, side by
// side, each run on a fresh PostgreSQL database and fresh topic. The service runs as real processes of
// src/main.ts (one `ingest`, N `worker`); a GetBookingDetails producer answers every call after 20 ms in a
// process of its own. Traffic: BENCH_KAFKA_CITIZENS citizens (default 10,000), each a new booking in one
// call, then a delete of it and a new booking in a later call (3 notifications each, 30,000 in all);
// calls of 100 citizens, 4 callers. Figure: notifications / (first call -> last message stored).
//
//   test/kafka/broker.sh start   (once; KAFKA_BROKERS defaults to 127.0.0.1:19092)
//   npm run bench:kafka          (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test)
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase } from '../src/db/database.js';
import { startBookingProducer } from '../test/helpers/booking-producer.js';
import {
  answerBookings,
  newTopicPrefix,
  outcome,
  registerSourceSystem,
  sendTraffic,
  startService,
  stopService,
  waitForMessages,
  type Service,
} from '../test/kafka/helpers.js';
import { startProducerProcess } from './producer-process.js';

const LATENCY_MS = 20;
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const CITIZENS = Number(process.env.BENCH_KAFKA_CITIZENS ?? 10_000);

async function producerProcess(): Promise<void> {
  const producer = await startBookingProducer();
  answerBookings(producer, LATENCY_MS);
  console.log(producer.url);
}

interface RunResult {
  workers: number;
  notifications: number;
  seconds: number;
  ingestSeconds: number;
  exact: boolean;
}

async function run(workers: number, producerUrl: string): Promise<RunResult> {
  const name = `ei_bench_kafka_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString() });
  const services: Service[] = [];
  try {
    await registerSourceSystem(database);
    const environment = { databaseUrl: url.toString(), brokers: BROKERS, topicPrefix: newTopicPrefix(), producerUrl };
    const ingest = await startService('ingest', environment);
    services.push(ingest);
    for (let i = 0; i < workers; i++) services.push(await startService('worker', environment));
    const started = performance.now();
    await sendTraffic(() => ingest.url, CITIZENS);
    const ingestSeconds = (performance.now() - started) / 1000;
    await waitForMessages(database, CITIZENS, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const result = await outcome(database);
    const exact =
      result.messages === 2 * CITIZENS &&
      result.distinctMessages === 2 * CITIZENS &&
      result.inOrder === CITIZENS &&
      result.pending === 0;
    return { workers, notifications: result.notifications, seconds, ingestSeconds, exact };
  } finally {
    await Promise.all(services.map((service) => stopService(service)));
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const producer = await startProducerProcess(import.meta.url);
  try {
    console.log(
      `bench:kafka: broker ${BROKERS}; PostgreSQL ${SERVER_URL}; producer latency ${LATENCY_MS} ms; ${CITIZENS} citizens x 3 notifications`,
    );
    console.log('workers  notifications  seconds  notifications/s  ingest alone s  exactly once, in order');
    for (const workers of [1, 2]) {
      const r = await run(workers, producer.url);
      console.log(
        `${String(r.workers).padStart(7)}  ${String(r.notifications).padStart(13)}  ${r.seconds.toFixed(1).padStart(7)}  ` +
          `${(r.notifications / r.seconds).toFixed(0).padStart(15)}  ${r.ingestSeconds.toFixed(1).padStart(14)}  ${r.exact ? 'yes' : 'NO'}`,
      );
    }
  } finally {
    producer.child.kill();
  }
}

if (process.argv.includes('--producer')) {
  await producerProcess();
} else {
  await main();
  process.exit(0);
}
