// npm run bench:flood-guard: an unannounced burst from one new care unit, against PostgreSQL, with a
// GetBookingDetails producer answering every call after 20 ms in its own process.
//
// A fresh database is created next to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and
// dropped at the end. The service (ingest, worker and sender roles, default flood-guard settings) runs in
// this process. Phases:
//   1. the guard's cost at the ingest: observe() for a call of 1000 transactions from 50 known units
//      (the hot path: no statement) and from one watched unit (one short transaction), per call;
//   2. the burst: BENCH_BURST_POSTS (default 50,000) new bookings of one never-seen care unit, one
//      citizen each, in 1000-transaction calls: where the guard held it, messages made (must be 0),
//      held messages, the ingest's and the engine's time;
//   3. the release: an administrator releases the unit; the time until every held message is an inbox
//      message with its channel request, and the peak RSS of the service process meanwhile.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { unitTraffic } from '../src/activation-registry/guard-store.js';
import { createCareUnitAdministration } from '../src/activation-registry/index.js';
import { sourceSystems } from '../src/activation-registry/schema.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, rows, type Database } from '../src/db/database.js';
import { heldCounts } from '../src/inbox/index.js';
import { createLogger } from '../src/logging.js';
import { bookedAnswer, isProducerProcess, serveProducer, startProducerProcess } from './producer-process.js';
import { engagement, notificationEnvelope, postNotification, type EngagementInput } from '../test/helpers/soap.js';

const LATENCY_MS = 20;
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BURST = Number(process.env.BENCH_BURST_POSTS ?? 50_000);
const SYSTEM = 'SE-BENCH-PAS';
const UNIT = 'SE-BENCH-NEWUNIT';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function transaction(n: number): EngagementInput {
  return engagement({
    registeredResidentIdentification: `19${String(n).padStart(10, '0')}`,
    logicalAddress: UNIT,
    businessObjectInstanceIdentifier: `BURST-${n}`,
    sourceSystem: SYSTEM,
  });
}

async function count(database: Database, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await rows<{ n: number }>(database.orm, query);
  return Number(row?.n ?? 0);
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(100);
  }
  return false;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const name = `ei_bench_flood_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const producer = await startProducerProcess(import.meta.url);
  const database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 20 });
  try {
    await database.orm
      .insert(sourceSystems)
      .values({ environment: 'qa', hsaId: SYSTEM, name: 'Bench PAS', mode: 'active' });
    const config = loadConfig({
      PORT: '0',
      CONSUMER_HSA_ID: 'SE-TEST-INBOX',
      ROLES: 'ingest,worker,sender',
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      DATA_DIR: `.tmp/bench-flood-${name}`,
      SMS_QUIET_HOURS: '',
    });
    const app = await buildApp({ config, database, log: createLogger({ level: 'warn' }) });
    const base = await app.listen();
    const guard = app.floodGuard!;
    console.log(
      `bench:flood-guard on ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'postgres://postgres@127.0.0.1:5432/test'}; producer latency ${LATENCY_MS} ms; ` +
        `threshold ${config.floodGuard.threshold} new posts per ${config.floodGuard.windowSeconds} s`,
    );

    // 1. The guard's cost per call at the ingest.
    // 50 care units with a history here (seen for months, last a few minutes ago), as in daily traffic.
    await database.orm
      .execute(sql`insert into care_unit_guard (environment, logical_address, first_seen_at, last_seen_at)
      select 'qa', 'SE-BENCH-KNOWN' || i, now() - interval '100 days', now() - interval '5 minutes' from generate_series(0, 49) as i`);
    const known = Array.from({ length: 1000 }, (_, i) => ({
      mode: 'active',
      deleteFlag: false,
      engagement: { logicalAddress: `SE-BENCH-KNOWN${i % 50}` },
    }));
    await guard.observe(unitTraffic(known));
    // Known for an hour now: the next calls are the hot path.
    const rounds = 2000;
    let started = performance.now();
    for (let i = 0; i < rounds; i++) await guard.observe(unitTraffic(known));
    const hotMs = (performance.now() - started) / rounds;
    const watched = Array.from({ length: 1000 }, () => ({
      mode: 'active',
      deleteFlag: true,
      engagement: { logicalAddress: 'SE-BENCH-WATCHED' },
    }));
    started = performance.now();
    for (let i = 0; i < 200; i++) await guard.observe(unitTraffic(watched));
    const watchedMs = (performance.now() - started) / 200;
    console.log(
      `guard at the ingest, per 1000-transaction call: known units ${(hotMs * 1000).toFixed(1)} µs (no statement); ` +
        `a watched unit ${watchedMs.toFixed(2)} ms (one transaction on the guard's key)`,
    );

    // 2. The burst.
    started = performance.now();
    const perCall = 1000;
    let next = 0;
    const calls = Math.ceil(BURST / perCall);
    let firstHeldCall = -1;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        for (let call = next++; call < calls; call = next++) {
          const size = Math.min(perCall, BURST - call * perCall);
          const answer = await postNotification(
            base,
            notificationEnvelope(Array.from({ length: size }, (_, i) => transaction(call * perCall + i))),
          );
          if (answer.resultCode !== 'OK') throw new Error(`call refused: ${answer.faultstring ?? answer.comment}`);
          if (firstHeldCall < 0 && app.directory.holdOf(UNIT)?.status === 'holding') firstHeldCall = call;
        }
      }),
    );
    const ingestSeconds = (performance.now() - started) / 1000;
    const processed = await waitUntil(
      async () =>
        (await count(database, sql`select count(*)::int as n from inbound_notification where status = 'pending'`)) ===
        0,
      1_800_000,
    );
    const burstSeconds = (performance.now() - started) / 1000;
    const messages = await count(database, sql`select count(*)::int as n from inbox_message`);
    const held = await count(database, sql`select count(*)::int as n from held_message`);
    const modes = await rows<{ mode: string; n: number }>(
      database.orm,
      sql`select delivered_mode as mode, count(*)::int as n from inbound_notification group by 1 order by 1`,
    );
    const [unit] = await rows<{ window_posts: number; held_posts: number }>(
      database.orm,
      sql`select window_posts, held_posts from care_unit_guard where logical_address = ${UNIT}`,
    );
    console.log(
      `burst: ${BURST} new posts from one new care unit in ${calls} calls: ingest ${ingestSeconds.toFixed(1)} s (${(BURST / ingestSeconds).toFixed(0)}/s), ` +
        `processed in ${burstSeconds.toFixed(1)} s${processed ? '' : ' [TIMED OUT]'}; held from the first call (window count ${unit?.window_posts ?? '?'} > threshold ${config.floodGuard.threshold}) ` +
        `${firstHeldCall <= 1 ? '' : `[held only after call ${firstHeldCall}]`}; ` +
        `delivered modes ${modes.map((m) => `${m.mode}=${m.n}`).join(', ')}; ${messages} messages; ${held} held messages; held notifications ${unit?.held_posts ?? '?'}`,
    );

    // 3. The release.
    const careUnits = createCareUnitAdministration(database, {
      afterChange: () => app.directory.refresh(),
      heldCounts: () => heldCounts(database.orm),
    });
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    started = performance.now();
    await careUnits.release('bench', 'qa', UNIT);
    const released = await waitUntil(
      async () => (await count(database, sql`select count(*)::int as n from held_message`)) === 0,
      1_800_000,
    );
    const releaseSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const shown = await count(database, sql`select count(*)::int as n from inbox_message`);
    const requests = await count(database, sql`select count(*)::int as n from notification_request`);
    console.log(
      `release: ${held} held messages -> ${shown} inbox messages and ${requests} channel requests in ${releaseSeconds.toFixed(1)} s ` +
        `(${(shown / releaseSeconds).toFixed(0)}/s)${released ? '' : ' [TIMED OUT]'}; service RSS ${mib(rssBefore)} before, peak ${mib(peakRss)} during the release`,
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
  await serveProducer(bookedAnswer(LATENCY_MS));
} else {
  await main();
}
