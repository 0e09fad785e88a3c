// npm run bench:reload-memory: what the service's start flags do to its memory during an EI reload, in
// alternated rounds. Each round starts the service from the build (`node <flags> dist/main.js`, its own
// process; run `npm run build` first) once per variant on a fresh PostgreSQL database next to DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test), with a GetBookingDetails producer answering after
// 20 ms in a third process, and loads BENCH_RELOAD_POSTS (default 60,000) posts of a silent source system
// in 1000-transaction calls, 2 callers (as bench:e2e's reload phase does; 50 care units). Then either the
// queue is drained (BENCH_DRAIN=1) or the service runs BENCH_AFTER_SECONDS (default 30) more; it is then
// stopped. Per run: the time to answer every call, the service's peak RSS (VmHWM), the largest heap
// figures of its /metrics (main thread only), and its CPU time per 1000 posts (ingested + processed),
// which, unlike the wall-clock times, hardly depends on the machine's other load. With BENCH_TRACE_GC=1
// the service also runs with --trace-gc (output in .tmp/reload-memory-*.log) and each V8 heap's (main
// thread and each ingest thread) largest committed size is printed.
//
// BENCH_VARIANTS: `name|node flags;name|node flags`, default: the start command of package.json against
// no flags at all. BENCH_ROUNDS (default 2): each round runs the variants, every other round in reverse.
// BENCH_PORT: the services listen on it and the ports after it, one per run (default: free ports).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { sourceSystems } from '../src/activation-registry/schema.js';
import { openDatabase, rows, type Database } from '../src/db/database.js';
import { freePort } from '../test/helpers/net.js';
import { engagement, notificationEnvelope, postNotification } from '../test/helpers/soap.js';
import { startCommand } from '../scripts/start-command.js';
import { bookedAnswer, isProducerProcess, serveProducer, startProducerProcess } from './producer-process.js';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const POSTS = Number(process.env.BENCH_RELOAD_POSTS ?? 60_000);
const DRAIN = process.env.BENCH_DRAIN === '1';
const AFTER_SECONDS = Number(process.env.BENCH_AFTER_SECONDS ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TRACE_GC = process.env.BENCH_TRACE_GC === '1';
const FIRST_PORT = Number(process.env.BENCH_PORT ?? 0);
let runs = 0;
const UNITS = 50;
const SYSTEM = 'SE-BENCH-RELOAD';
const VARIANTS = (process.env.BENCH_VARIANTS ?? `npm start|${startCommand().nodeFlags.join(' ')};no flags|`)
  .split(';')
  .map((variant) => {
    const [name, flags] = variant.split('|');
    return { name: name!.trim(), flags: (flags ?? '').split(' ').filter(Boolean) };
  });
const load = () =>
  `load average ${os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function count(database: Database, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await rows<{ n: number }>(database.orm, query);
  return Number(row?.n ?? 0);
}

async function sendAll(url: string, total: number): Promise<void> {
  let next = 0;
  const calls = Math.ceil(total / 1000);
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      for (let call = next++; call < calls; call = next++) {
        const size = Math.min(1000, total - call * 1000);
        const body = notificationEnvelope(
          Array.from({ length: size }, (_, i) => {
            const n = 2_000_000 + call * 1000 + i;
            return engagement({
              registeredResidentIdentification: `19${String(n).padStart(10, '0')}`,
              logicalAddress: `SE-BENCH-VC${n % UNITS}`,
              businessObjectInstanceIdentifier: `RL-${n}`,
              sourceSystem: SYSTEM,
            });
          }),
        );
        const answer = await postNotification(url, body);
        if (answer.resultCode !== 'OK') throw new Error(`call refused: ${answer.faultstring ?? answer.comment}`);
      }
    }),
  );
}

async function run(variant: (typeof VARIANTS)[number], producerUrl: string): Promise<void> {
  const name = `ei_bench_mem_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 3 });
  await database.orm
    .insert(sourceSystems)
    .values([{ environment: 'qa', hsaId: SYSTEM, name: 'Bench reload PAS', mode: 'silent' }]);
  const port = FIRST_PORT ? FIRST_PORT + runs++ : await freePort();
  const logName = `.tmp/reload-memory-${Date.now()}.log`;
  fs.mkdirSync('.tmp', { recursive: true });
  const out = fs.openSync(logName, 'w');
  const service = spawn(process.execPath, [...variant.flags, ...(TRACE_GC ? ['--trace-gc'] : []), 'dist/main.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: url.toString(),
      ROLES: 'ingest,worker',
      CONSUMER_HSA_ID: 'SE-TEST-INBOX',
      FLOOD_GUARD_THRESHOLD: '0',
      NTJP_GETBOOKINGDETAILS_URL: producerUrl,
      DATA_DIR: '.tmp/bench-reload-memory',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', out, 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  let status = '';
  const proc = (key: string) => {
    try {
      status = fs.readFileSync(`/proc/${service.pid}/status`, 'utf8');
    } catch {
      // Ended: the last reading stands.
    }
    return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  };
  const cpuSeconds = () => {
    const fields = fs.readFileSync(`/proc/${service.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const heap = { total: 0, used: 0, external: 0 };
  const metric = (text: string, metricName: string) =>
    Number(new RegExp(`^ei_${metricName} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 1024 / 1024;
  const sampler = setInterval(() => {
    void fetch(`${base}/metrics`)
      .then((r) => r.text())
      .then((text) => {
        heap.total = Math.max(heap.total, metric(text, 'nodejs_heap_size_total_bytes'));
        heap.used = Math.max(heap.used, metric(text, 'nodejs_heap_size_used_bytes'));
        heap.external = Math.max(heap.external, metric(text, 'nodejs_external_memory_bytes'));
      })
      .catch(() => {});
  }, 1000);
  const pending = () =>
    count(database, sql`select count(*)::int as n from inbound_notification where status = 'pending'`);
  try {
    let ready = false;
    for (let i = 0; i < 600 && !ready; i++) {
      ready = await fetch(`${base}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (!ready) await sleep(100);
    }
    if (!ready) throw new Error('the service did not start');
    const idle = proc('VmRSS');
    const cpuAtStart = cpuSeconds();
    const started = performance.now();
    await sendAll(base, POSTS);
    const answered = (performance.now() - started) / 1000;
    if (DRAIN) while ((await pending()) > 0) await sleep(500);
    else await sleep(AFTER_SECONDS * 1000);
    const processed = POSTS - (await pending());
    const cpu = cpuSeconds() - cpuAtStart;
    console.log(
      `${variant.name.padEnd(12)} ${POSTS} posts answered in ${answered.toFixed(0)} s, ${processed} processed ` +
        `after ${((performance.now() - started) / 1000).toFixed(0)} s; peak RSS ${proc('VmHWM').toFixed(0)} MiB ` +
        `(idle ${idle.toFixed(0)}); main heap at most ${heap.total.toFixed(0)} MiB (used ${heap.used.toFixed(0)}), ` +
        `external ${heap.external.toFixed(0)}; CPU ${((cpu * 1000) / ((POSTS + processed) / 1000)).toFixed(0)} ms ` +
        `per 1000 posts; ${load()}`,
    );
  } finally {
    clearInterval(sampler);
    service.kill('SIGTERM');
    await new Promise((resolve) => service.once('exit', resolve));
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  if (TRACE_GC) {
    // `[pid:isolate] ... -> used (committed) MB`: the largest committed size of each V8 heap.
    const peaks = new Map<string, number>();
    for (const m of fs.readFileSync(logName, 'utf8').matchAll(/^\[\d+:(0x[0-9a-f]+)\].*?-> [\d.]+ \(([\d.]+)\)/gm))
      peaks.set(m[1]!, Math.max(peaks.get(m[1]!) ?? 0, Number(m[2])));
    console.log(
      `${''.padEnd(12)} largest committed V8 heaps, MB: ${[...peaks.values()].map((x) => x.toFixed(0)).join(', ')}`,
    );
  }
}

if (isProducerProcess()) {
  await serveProducer(bookedAnswer(20));
} else {
  if (!fs.existsSync('dist/main.js')) throw new Error('no dist/main.js: run npm run build first');
  console.log(
    `bench:reload-memory: ${POSTS} posts per run, ${DRAIN ? 'drained' : `${AFTER_SECONDS} s after the last answer`}; ` +
      `variants ${VARIANTS.map((v) => `${v.name} (${v.flags.join(' ') || 'no flags'})`).join(', ')}; ${load()}`,
  );
  const producer = await startProducerProcess(import.meta.url);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) await run(variant, producer.url);
    }
  } finally {
    producer.child.stdin?.end();
  }
}
