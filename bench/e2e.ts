// npm run bench:e2e: from ProcessNotification to stored inbox messages, against PostgreSQL, with a
// GetBookingDetails producer answering every call after 20 ms in its own process.
//
// A fresh database is created next to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and
// dropped at the end. The service (ingest and worker roles) runs in this process. Phases:
//   1. throughput: BENCH_E2E_NOTIFICATIONS (default 20,000) new bookings, 50 care units, one citizen
//      each, sent in 1000-transaction calls; notifications/s from the first call to the last message;
//   2. latency: 200 notifications/s (20-transaction calls every 100 ms) for BENCH_SECONDS (default 20);
//      delay from each call's answer to the stored message, p50/p99;
//   3. reload: the service in a process of its own (src/main.ts; this process is the load generator).
//      BENCH_RELOAD_POSTS (default 100,000; the issue's figure is 1,000,000) posts loaded silently (as
//      operators do for an initial load), the system switched to active, then, after the redelivery window
//      (BENCH_REDELIVERY_WINDOW_SECONDS, default 10), EI re-sends them all unchanged: each is fetched again
//      and compared. Messages produced (must be 0), the time it takes, GetBookingDetails calls per second
//      to each care unit (the most any unit got in one second, bounded by NTJP_MAX_CALLS_PER_SECOND) and
//      the peak memory (VmHWM) of the service process. The service runs as in production, from the build
//      with `npm start`'s command and node flags (package.json; compiled first with tsc; BENCH_SERVICE=tsx
//      runs the sources through tsx with the same flags, whose in-process compiler adds about 60-80 MiB);
//      its heap, sampled from /metrics, is printed with the peak.
// BENCH_PHASES (default throughput,latency,reload) picks phases; the load average is printed with each figure.
// INGEST_THREADS, when set, is passed to the in-process service (phases 1 and 2).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { sourceSystems } from '../src/activation-registry/schema.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, rows, type Database } from '../src/db/database.js';
import { createLogger } from '../src/logging.js';
import { bookedAnswer, isProducerProcess, serveProducer, startProducerProcess } from './producer-process.js';
import { engagement, notificationEnvelope, postNotification, type EngagementInput } from '../test/helpers/soap.js';
import { freePort } from '../test/helpers/net.js';
import { startCommand } from '../scripts/start-command.js';

const LATENCY_MS = 20;
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NOTIFICATIONS = Number(process.env.BENCH_E2E_NOTIFICATIONS ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const RELOAD_POSTS = Number(process.env.BENCH_RELOAD_POSTS ?? 100_000);
const REDELIVERY_WINDOW_SECONDS = Number(process.env.BENCH_REDELIVERY_WINDOW_SECONDS ?? 10);
const MAX_CALLS_PER_SECOND = Number(process.env.NTJP_MAX_CALLS_PER_SECOND ?? 100);
const UNITS = 50;
const SYSTEM = 'SE-BENCH-PAS';
const RELOAD_SYSTEM = 'SE-BENCH-RELOAD';
const TARGETS = { perSecond: 1000, p99Ms: 2000 };
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? 'throughput,latency,reload').split(',').map((phase) => phase.trim()),
);
const SERVICE_FROM = process.env.BENCH_SERVICE === 'tsx' ? 'tsx' : 'dist';
// The production start command, as package.json's `start` script has it (its node flags included).
const START = startCommand();
const load = () =>
  `load average ${os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`;

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
async function sendAll(
  url: string,
  first: number,
  total: number,
  perCall: number,
  callers: number,
  prefix: string,
  system: string,
): Promise<void> {
  let next = 0;
  const calls = Math.ceil(total / perCall);
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let call = next++; call < calls; call = next++) {
        const size = Math.min(perCall, total - call * perCall);
        const body = notificationEnvelope(
          Array.from({ length: size }, (_, i) => transaction(first + call * perCall + i, prefix, system)),
        );
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
  const producer = await startCountingProducer();
  const database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 20 });
  try {
    await database.orm.insert(sourceSystems).values([
      { environment: 'qa', hsaId: SYSTEM, name: 'Bench PAS', mode: 'active' },
      { environment: 'qa', hsaId: RELOAD_SYSTEM, name: 'Bench reload PAS', mode: 'silent' },
    ]);
    const config = loadConfig({
      PORT: '0',
      CONSUMER_HSA_ID: 'SE-TEST-INBOX',
      // New care units sending hundreds of posts at once: the flood guard would hold them (bench:flood-guard measures it).
      FLOOD_GUARD_THRESHOLD: '0',
      ROLES: 'ingest,worker',
      NTJP_GETBOOKINGDETAILS_URL: producer.url,
      DATA_DIR: '.tmp/bench-e2e',
      // Passed through, to compare the ingest with and without its threads (default: the cores, at most 4).
      ...(process.env.INGEST_THREADS !== undefined ? { INGEST_THREADS: process.env.INGEST_THREADS } : {}),
    });
    const app = await buildApp({ config, database, log: createLogger({ level: 'warn' }) });
    const base = await app.listen();
    console.log(
      `bench:e2e on ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'postgres://postgres@127.0.0.1:5432/test'}; producer latency ${LATENCY_MS} ms; ${UNITS} care units`,
    );

    if (PHASES.has('throughput')) {
      // 1. Throughput.
      console.log(`throughput phase starts, ${load()}`);
      producer.resetStats();
      const cpuBefore = process.cpuUsage();
      const machineBefore = machineBusySeconds();
      const started = performance.now();
      await sendAll(base, 0, NOTIFICATIONS, 1000, 2, 'TP', SYSTEM);
      const ingested = performance.now() - started;
      const messagesDone = await waitUntil(
        async () => (await count(database, sql`select count(*)::int as n from inbox_message`)) >= NOTIFICATIONS,
        600_000,
      );
      const elapsed = (performance.now() - started) / 1000;
      const perSecond = NOTIFICATIONS / elapsed;
      console.log(
        `throughput: ${NOTIFICATIONS} notifications -> messages in ${elapsed.toFixed(1)} s = ${perSecond.toFixed(0)} notifications/s ` +
          `(ingest alone ${(ingested / 1000).toFixed(1)} s)${messagesDone ? '' : ' [TIMED OUT]'} target >= ${TARGETS.perSecond}/s; ${load()}`,
      );
      // CPU actually used (not time on the CPU profile's clock, which counts time waiting for a core as busy).
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const machineBusy = machineBusySeconds() - machineBefore;
      await sleep(1_100); // the producer reports its calls once a second
      console.log(
        `  CPU of this process (service, ingest threads, load generator) ${cpuSeconds.toFixed(1)} s = ` +
          `${((cpuSeconds * 1000) / NOTIFICATIONS).toFixed(2)} ms per notification; the machine busy ` +
          `${Number.isNaN(machineBusy) ? '?' : machineBusy.toFixed(1)} s of ${(elapsed * os.availableParallelism()).toFixed(1)} ` +
          `(${os.availableParallelism()} cores); GetBookingDetails calls ${producer.stats().total}`,
      );
    }

    if (PHASES.has('latency')) {
      // 2. Latency at 200 notifications/s.
      console.log(`latency phase starts, ${load()}`);
      const answeredAt = new Map<number, number>();
      const calls = SECONDS * 10;
      const latencyStart = Date.now();
      const sends: Promise<void>[] = [];
      for (let call = 0; call < calls; call++) {
        const due = latencyStart + call * 100;
        await sleep(Math.max(0, due - Date.now()));
        const body = notificationEnvelope(
          Array.from({ length: 20 }, (_, i) => transaction(1_000_000 + call * 20 + i, `LAT${call}`, SYSTEM)),
        );
        sends.push(
          postNotification(base, body).then((answer) => {
            if (answer.resultCode !== 'OK') throw new Error(`call refused: ${answer.faultstring ?? answer.comment}`);
            answeredAt.set(call, Date.now());
          }),
        );
      }
      await Promise.all(sends);
      await waitUntil(
        async () =>
          (await count(
            database,
            sql`select count(*)::int as n from inbox_message where booking->>'bookingId' like 'LAT%'`,
          )) >=
          calls * 20,
        120_000,
      );
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
        `latency at 200 notifications/s for ${SECONDS} s: ${delays.length} messages; answer -> stored message p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (target p99 <= ${TARGETS.p99Ms} ms); ${load()}`,
      );
    }

    await app.close();
    if (!PHASES.has('reload')) return;

    // 3. Reload, with the service in a process of its own, run as in production (from the build).
    if (SERVICE_FROM === 'dist') {
      const built = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
        stdio: 'inherit',
      });
      if (built.status !== 0) throw new Error('tsc -p tsconfig.build.json failed');
    }
    const port = await freePort();
    const service = spawn(
      process.execPath,
      SERVICE_FROM === 'dist' ? START.args : [...START.nodeFlags, '--import', 'tsx', 'src/main.ts'],
      {
        env: {
          ...process.env,
          PORT: String(port),
          DATABASE_URL: url.toString(),
          ROLES: 'ingest,worker',
          CONSUMER_HSA_ID: 'SE-TEST-INBOX',
          // New care units sending hundreds of posts at once: the flood guard would hold them (bench:flood-guard measures it).
          FLOOD_GUARD_THRESHOLD: '0',
          NTJP_GETBOOKINGDETAILS_URL: producer.url,
          REDELIVERY_WINDOW_SECONDS: String(REDELIVERY_WINDOW_SECONDS),
          NTJP_MAX_CALLS_PER_SECOND: String(MAX_CALLS_PER_SECOND),
          DATA_DIR: '.tmp/bench-e2e',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const serviceBase = `http://127.0.0.1:${port}`;
    if (
      !(await waitUntil(
        () =>
          fetch(`${serviceBase}/readyz`)
            .then((r) => r.ok)
            .catch(() => false),
        60_000,
      ))
    )
      throw new Error('the service process did not start');
    const vmHwm = () =>
      Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${service.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const vmRss = () =>
      Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${service.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const idleRss = vmRss();
    // What the service's memory is made of when it is at its largest: sampled from its own /metrics.
    let peakSample = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0 };
    const metric = (text: string, name: string) =>
      Number(new RegExp(`^ei_${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 1024 / 1024;
    const sampler = setInterval(() => {
      const rss = vmRss();
      if (rss <= peakSample.rss) return;
      void fetch(`${serviceBase}/metrics`)
        .then((r) => r.text())
        .then((text) => {
          if (rss > peakSample.rss) {
            peakSample = {
              rss,
              heapUsed: metric(text, 'nodejs_heap_size_used_bytes'),
              heapTotal: metric(text, 'nodejs_heap_size_total_bytes'),
              external: metric(text, 'nodejs_external_memory_bytes'),
            };
          }
        })
        .catch(() => {});
    }, 2_000);
    sampler.unref();
    // Progress every 30 s (a million-post run takes long): what waits, RSS, calls, load.
    const progressStart = performance.now();
    const progress = setInterval(() => {
      void pending()
        .then((waiting) =>
          console.log(
            `  ${((performance.now() - progressStart) / 1000).toFixed(0)} s: ${waiting} pending, service RSS ${vmRss().toFixed(0)} MiB (peak ${vmHwm().toFixed(0)}), ` +
              `GetBookingDetails calls so far ${producer.stats().total} (most to one unit in a second ${producer.stats().peakPerAddress}); ${load()}`,
          ),
        )
        .catch(() => {});
    }, 30_000);
    progress.unref();
    const pending = () =>
      count(database, sql`select count(*)::int as n from inbound_notification where status = 'pending'`);
    try {
      console.log(
        `reload phase: service started as ${SERVICE_FROM === 'dist' ? `npm start does (${START.command})` : `src/main.ts via tsx with ${START.nodeFlags.join(' ') || 'no node flags'}`}, idle RSS ${idleRss.toFixed(0)} MiB; silent load of ${RELOAD_POSTS} posts starts, ${load()}`,
      );
      const loadStart = performance.now();
      await sendAll(serviceBase, 2_000_000, RELOAD_POSTS, 1000, 2, 'RL', RELOAD_SYSTEM);
      await waitUntil(async () => (await pending()) === 0, 3_600_000);
      const loadSeconds = (performance.now() - loadStart) / 1000;
      const rssAfterLoad = vmHwm();
      await database.orm.update(sourceSystems).set({ mode: 'active' }).where(eq(sourceSystems.hsaId, RELOAD_SYSTEM));
      // The service follows the registry by NOTIFY; then the redelivery window of the load must pass.
      await sleep(REDELIVERY_WINDOW_SECONDS * 1000 + 1000);
      const messagesBefore = await count(database, sql`select count(*)::int as n from inbox_message`);
      const queuedBefore = await count(database, sql`select count(*)::int as n from inbound_notification`);
      producer.resetStats();
      console.log(
        `silent load done in ${((performance.now() - loadStart) / 1000).toFixed(1)} s (peak RSS so far ${rssAfterLoad.toFixed(0)} MiB); reload starts, ${load()}`,
      );
      const reloadStart = performance.now();
      await sendAll(serviceBase, 2_000_000, RELOAD_POSTS, 1000, 2, 'RL', RELOAD_SYSTEM);
      const sentSeconds = (performance.now() - reloadStart) / 1000;
      await waitUntil(async () => (await pending()) === 0, 3_600_000);
      const reloadSeconds = (performance.now() - reloadStart) / 1000;
      await sleep(1500);
      const messagesAfter = await count(database, sql`select count(*)::int as n from inbox_message`);
      const queuedAfter = await count(database, sql`select count(*)::int as n from inbound_notification`);
      const stats = producer.stats();
      console.log(
        `reload: ${RELOAD_POSTS} posts loaded silently in ${loadSeconds.toFixed(1)} s; after the redelivery window (${REDELIVERY_WINDOW_SECONDS} s) ` +
          `re-sent unchanged with the system active: answered in ${sentSeconds.toFixed(1)} s, all processed in ${reloadSeconds.toFixed(1)} s ` +
          `(${(RELOAD_POSTS / reloadSeconds).toFixed(0)} posts/s): ${messagesAfter - messagesBefore} messages, ${queuedAfter - queuedBefore} queued; ` +
          `GetBookingDetails calls ${stats.total} (${(stats.total / reloadSeconds).toFixed(0)}/s over ${UNITS} units; the most one unit got in one second: ${stats.peakPerAddress}, ` +
          `cap ${MAX_CALLS_PER_SECOND}); service process peak RSS ${vmHwm().toFixed(0)} MiB (${rssAfterLoad.toFixed(0)} MiB after the silent load, ${idleRss.toFixed(0)} MiB idle; ` +
          `at the largest sample ${peakSample.rss.toFixed(0)} MiB: heap used ${peakSample.heapUsed.toFixed(0)} of ${peakSample.heapTotal.toFixed(0)} MiB, external ${peakSample.external.toFixed(0)} MiB); ${load()}`,
      );
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
      service.kill('SIGTERM');
      await new Promise((resolve) => service.once('exit', resolve));
    }
  } finally {
    producer.child.stdin?.end();
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

/** CPU seconds the whole machine has been busy since boot (Linux /proc/stat; NaN elsewhere). */
function machineBusySeconds(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100;
  } catch {
    return NaN;
  }
}

/** The producer process, with its calls counted per logical address and second (reported as JSON lines). */
async function startCountingProducer() {
  const producer = await startProducerProcess(import.meta.url);
  let total = 0;
  let peakPerAddress = 0;
  createInterface({ input: producer.child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const second = JSON.parse(line) as { total: number; maxPerAddress: number };
    total += second.total;
    peakPerAddress = Math.max(peakPerAddress, second.maxPerAddress);
  });
  return {
    ...producer,
    resetStats() {
      total = 0;
      peakPerAddress = 0;
    },
    stats: () => ({ total, peakPerAddress }),
  };
}

if (isProducerProcess()) {
  // Every booking exists, for whoever asks, answered after LATENCY_MS. Calls are counted per care unit.
  let perAddress = new Map<string, number>();
  setInterval(() => {
    const counts = [...perAddress.values()];
    perAddress = new Map();
    if (counts.length > 0)
      process.stdout.write(
        `${JSON.stringify({ total: counts.reduce((a, b) => a + b, 0), maxPerAddress: Math.max(...counts) })}\n`,
      );
  }, 1000).unref();
  const answer = bookedAnswer(LATENCY_MS);
  await serveProducer((request) => {
    perAddress.set(request.logicalAddress ?? '', (perAddress.get(request.logicalAddress ?? '') ?? 0) + 1);
    return answer(request);
  });
} else {
  await main();
}
