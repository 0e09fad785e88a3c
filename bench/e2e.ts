// npm run bench:e2e: from ProcessNotification to stored inbox messages, against PostgreSQL, with a
// GetBookingDetails producer answering every call after 20 ms in its own process.
//
// A fresh database is created next to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and
// dropped at the end. The service (ingest and worker roles) runs in this process. Phases:
//   1. throughput: BENCH_E2E_NOTIFICATIONS (default 20,000) new bookings, 50 care units, one citizen
//      each, sent in 1000-transaction calls; notifications/s from the first call to the last message;
//   2. latency: 200 notifications/s (20-transaction calls every 100 ms) for BENCH_SECONDS (default 20);
//      delay from each call's answer to the stored message, p50/p99;
//   3. reload: BENCH_RELOAD_POSTS (default 100,000) posts loaded silently (as operators do for an
//      initial load), the system switched to active, then EI re-sends them all unchanged: messages
//      produced (must be 0), the time it takes and the peak memory (RSS) of the service process.
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { sourceSystems } from '../src/activation-registry/schema.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, rows, type Database } from '../src/db/database.js';
import { createLogger } from '../src/logging.js';
import { sampleTimeslot } from '../test/helpers/booking-producer.js';
import { isProducerProcess, serveProducer, startProducerProcess } from './producer-process.js';
import { engagement, notificationEnvelope, postNotification, type EngagementInput } from '../test/helpers/soap.js';

const LATENCY_MS = 20;
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NOTIFICATIONS = Number(process.env.BENCH_E2E_NOTIFICATIONS ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const RELOAD_POSTS = Number(process.env.BENCH_RELOAD_POSTS ?? 100_000);
const UNITS = 50;
const SYSTEM = 'SE-BENCH-PAS';
const RELOAD_SYSTEM = 'SE-BENCH-RELOAD';
const TARGETS = { perSecond: 1000, p99Ms: 2000 };


function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function transaction(n: number, prefix: string, sourceSystem: string): EngagementInput {
  return engagement({
    registeredResidentIdentification: `19${String(n).padStart(10, '0')}`,
    logicalAddress: `SE-BENCH-VC${n % UNITS}`,
    businessObjectInstanceIdentifier: `${prefix}-${n}`,
    sourceSystem,
  });
}

async function count(database: Database, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await rows<{ n: number }>(database.orm, query);
  return Number(row?.n ?? 0);
}

/** Sends `total` transactions numbered from `first` in calls of `perCall`, `callers` calls at a time. */
async function sendAll(url: string, first: number, total: number, perCall: number, callers: number, prefix: string, system: string): Promise<void> {
  let next = 0;
  const calls = Math.ceil(total / perCall);
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let call = next++; call < calls; call = next++) {
        const size = Math.min(perCall, total - call * perCall);
        const body = notificationEnvelope(Array.from({ length: size }, (_, i) => transaction(first + call * perCall + i, prefix, system)));
        const answer = await postNotification(url, body);
        if (answer.resultCode !== 'OK') throw new Error(`call refused: ${answer.faultstring ?? answer.comment}`);
      }
    }),
  );
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(100);
  }
  return false;
}

async function main(): Promise<void> {
  const name = `ei_bench_e2e_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const producer = await startProducerProcess(import.meta.url);
  const database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 20 });
  try {
    await database.orm.insert(sourceSystems).values([
      { environment: 'qa', hsaId: SYSTEM, name: 'Bench PAS', mode: 'active' },
      { environment: 'qa', hsaId: RELOAD_SYSTEM, name: 'Bench reload PAS', mode: 'silent' },
    ]);
    const config = loadConfig({
      PORT: '0',
      CONSUMER_HSA_ID: 'SE-TEST-INBOX',
      ROLES: 'ingest,worker',
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      DATA_DIR: '.tmp/bench-e2e',
    });
    const app = await buildApp({ config, database, log: createLogger({ level: 'warn' }) });
    const base = await app.listen();
    console.log(`bench:e2e on ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'postgres://postgres@127.0.0.1:5432/test'}; producer latency ${LATENCY_MS} ms; ${UNITS} care units`);

    // 1. Throughput.
    const started = performance.now();
    await sendAll(base, 0, NOTIFICATIONS, 1000, 2, 'TP', SYSTEM);
    const ingested = performance.now() - started;
    const messagesDone = await waitUntil(async () => (await count(database, sql`select count(*)::int as n from inbox_message`)) >= NOTIFICATIONS, 600_000);
    const elapsed = (performance.now() - started) / 1000;
    const perSecond = NOTIFICATIONS / elapsed;
    console.log(
      `throughput: ${NOTIFICATIONS} notifications -> messages in ${elapsed.toFixed(1)} s = ${perSecond.toFixed(0)} notifications/s ` +
        `(ingest alone ${(ingested / 1000).toFixed(1)} s)${messagesDone ? '' : ' [TIMED OUT]'} target >= ${TARGETS.perSecond}/s`,
    );

    // 2. Latency at 200 notifications/s.
    const answeredAt = new Map<number, number>();
    const calls = SECONDS * 10;
    const latencyStart = Date.now();
    const sends: Promise<void>[] = [];
    for (let call = 0; call < calls; call++) {
      const due = latencyStart + call * 100;
      await sleep(Math.max(0, due - Date.now()));
      const body = notificationEnvelope(Array.from({ length: 20 }, (_, i) => transaction(1_000_000 + call * 20 + i, `LAT${call}`, SYSTEM)));
      sends.push(
        postNotification(base, body).then((answer) => {
          if (answer.resultCode !== 'OK') throw new Error(`call refused: ${answer.faultstring ?? answer.comment}`);
          answeredAt.set(call, Date.now());
        }),
      );
    }
    await Promise.all(sends);
    await waitUntil(async () => (await count(database, sql`select count(*)::int as n from inbox_message where booking->>'bookingId' like 'LAT%'`)) >= calls * 20, 120_000);
    const stored = await rows<{ booking_id: string; at: number }>(
      database.orm,
      sql`select booking->>'bookingId' as booking_id, (extract(epoch from created_at) * 1000)::float8 as at from inbox_message where booking->>'bookingId' like 'LAT%'`,
    );
    const delays = stored
      .map((row) => Number(row.at) - answeredAt.get(Number(/^LAT(\d+)-/.exec(row.booking_id)![1]))!)
      .sort((a, b) => a - b);
    const p50 = percentile(delays, 0.5);
    const p99 = percentile(delays, 0.99);
    console.log(
      `latency at 200 notifications/s for ${SECONDS} s: ${delays.length} messages; answer -> stored message p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (target p99 <= ${TARGETS.p99Ms} ms)`,
    );

    // 3. Reload.
    const loadStart = performance.now();
    await sendAll(base, 2_000_000, RELOAD_POSTS, 1000, 2, 'RL', RELOAD_SYSTEM);
    await waitUntil(async () => (await count(database, sql`select count(*)::int as n from inbound_notification where status = 'pending'`)) === 0, 1_800_000);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    await database.orm.update(sourceSystems).set({ mode: 'active' }).where(eq(sourceSystems.hsaId, RELOAD_SYSTEM));
    await app.directory.refresh();
    const messagesBefore = await count(database, sql`select count(*)::int as n from inbox_message`);
    const queuedBefore = await count(database, sql`select count(*)::int as n from inbound_notification`);
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const reloadStart = performance.now();
    await sendAll(base, 2_000_000, RELOAD_POSTS, 1000, 2, 'RL', RELOAD_SYSTEM);
    await waitUntil(async () => (await count(database, sql`select count(*)::int as n from inbound_notification where status = 'pending'`)) === 0, 600_000);
    const reloadSeconds = (performance.now() - reloadStart) / 1000;
    clearInterval(sampler);
    await sleep(1000);
    const messagesAfter = await count(database, sql`select count(*)::int as n from inbox_message`);
    const queuedAfter = await count(database, sql`select count(*)::int as n from inbound_notification`);
    console.log(
      `reload: ${RELOAD_POSTS} posts loaded silently in ${loadSeconds.toFixed(1)} s; re-sent unchanged with the system active in ` +
        `${reloadSeconds.toFixed(1)} s (${(RELOAD_POSTS / reloadSeconds).toFixed(0)} posts/s): ${messagesAfter - messagesBefore} messages, ` +
        `${queuedAfter - queuedBefore} queued; peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB`,
    );
    await app.close();
  } finally {
    producer.child.stdin?.end();
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

if (isProducerProcess()) {
  // Every booking exists, for whoever asks, answered after LATENCY_MS.
  await serveProducer((request) => ({
    delayMs: LATENCY_MS,
    details: sampleTimeslot({
      healthcareFacility: request.logicalAddress,
      bookingId: request.bookingId,
      subjectOfCare: request.actorId,
      startTimeInclusive: '20271015093000',
      endTimeExclusive: '20271015100000',
    }),
  }));
} else {
  await main();
}
