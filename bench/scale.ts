// npm run bench:scale: the ingest, end-to-end and inbox-read figures on an empty database and on one
// filled to national volumes (bench/scale-fill.ts), alternated in one run, with the ratio filled/empty.
//
// PostgreSQL at DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/test; only the server is
// used). The filled database (BENCH_SCALE_DB, default ei_scale) is kept between runs and reused when it
// holds a fill of the same BENCH_SCALE (1 = 5 million posts, 10 million messages, 2 million citizens; 0.1
// for a trial run); BENCH_SCALE_DROP=1 drops it at the end. The empty database is created for the run and
// dropped. Migrations are applied to both on every run (new indexes reach the kept fill).
// Each round, for each database in turn (the order alternates between rounds), each phase after a checkpoint:
//   ingest: 1000-transaction calls from 4 callers for BENCH_SECONDS (default 15) against the ingest role
//           (load generator bench/ingest-load.ts in its own process): transactions/s and p99 per call.
//           The rows it wrote are deleted afterwards, so that the filled database keeps its size.
//   e2e:    ingest and worker roles, a GetBookingDetails producer answering after 20 ms in its own process:
//           BENCH_SCALE_E2E (default 10,000) new bookings of existing citizens in 1000-transaction calls,
//           notifications/s to the last stored message; then 200 notifications/s for BENCH_SECONDS / 2,
//           answer -> stored message p99. The WAL written per notification (and its full-page images) too.
//   reads:  GET /api/inbox/messages and /api/citizen/bookings for a citizen with 1,000 messages, each at
//           200 requests/s open-loop (the load in its own process) for BENCH_SECONDS / 2: p99.
//           Then 1,000 of each one after the other: p99 of the service time alone (at a load average of 15-20
//           on the shared machine, 200/s open-loop measures the queue in front of a saturated CPU).
// BENCH_ROUNDS (default 2); BENCH_SCALE_MEASURE=0 only fills and prints the disk figures;
// BENCH_SCALE_RETENTION=1 ends with one retention round on each database (on the filled one it walks up
// to 1,000 slices of each table: minutes).
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres, { type Sql } from 'postgres';
import { signDevelopmentToken } from '../src/auth/index.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { purgeExpired } from '../src/operations/retention.js';
import { createLogger } from '../src/logging.js';
import { PROCESS_NOTIFICATION_PATH } from '../src/process-notifications/soap-endpoint.js';
import { engagement, notificationEnvelope, postNotification } from '../test/helpers/soap.js';
import { BENCH_SOURCE_SYSTEM } from './bodies.js';
import type { LoadOrder, LoadReport } from './ingest-load.js';
import { bookedAnswer, isProducerProcess, serveProducer, startProducerProcess } from './producer-process.js';
import { addReader, DAILY, fill, fillSizes, READER } from './scale-fill.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const FILLED = process.env.BENCH_SCALE_DB ?? 'ei_scale';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const E2E_NOTIFICATIONS = Number(process.env.BENCH_SCALE_E2E ?? 10_000);
const READ_RATE = 200;
const SEQUENTIAL_READS = 1000;
const E2E_RATE_CALLS_PER_SECOND = 10; // 20-transaction calls: 200 notifications/s
// The address test/helpers/soap.ts's envelopes carry.
const CONSUMER_HSA_ID = 'SE-TEST-INBOX';
const E2E_SYSTEM = 'SE-BENCH-PAS';
const UNITS = 50;
const PRODUCER_LATENCY_MS = 20;
const JWT_SECRET = 'bench-scale-secret-0123456789abcdef0123456789';
const FILL_TAG = (scale: number) => `bench:scale fill v1 scale=${scale}`;

const load = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates (or reuses) the filled database; migrations always run. */
async function ensureFilled(admin: Sql): Promise<void> {
  const [existing] = await admin<{ comment: string | null }[]>`
    select shobj_description(oid, 'pg_database') as comment from pg_database where datname = ${FILLED}`;
  if (existing && existing.comment === FILL_TAG(SCALE)) {
    console.log(`${FILLED}: reusing the fill at scale ${SCALE} ("${existing.comment}")`);
    await (await openDatabase({ databaseUrl: databaseUrl(FILLED), maxConnections: 1 })).close();
    return;
  }
  if (existing) {
    console.log(`${FILLED}: holds ${existing.comment ?? 'no recorded fill'}; dropped and filled again`);
    await admin.unsafe(`drop database "${FILLED}" with (force)`);
  }
  await admin.unsafe(`create database "${FILLED}"`);
  await (await openDatabase({ databaseUrl: databaseUrl(FILLED), maxConnections: 1 })).close();
  const sizes = fillSizes(SCALE);
  console.log(
    `${FILLED}: filling at scale ${SCALE} (national volume ${DAILY.notifications.toLocaleString('en')} notifications/day, ${DAILY.messages.toLocaleString('en')} messages/day): ${JSON.stringify(sizes)}; load average ${load()}`,
  );
  const sql = postgres(databaseUrl(FILLED), { max: 1, onnotice: () => {} });
  const started = performance.now();
  try {
    await fill(sql, sizes, (line) => console.log(`${line}; load average ${load()}`));
  } finally {
    await sql.end();
  }
  await admin.unsafe(`comment on database "${FILLED}" is '${FILL_TAG(SCALE)}'`);
  console.log(`${FILLED}: filled in ${((performance.now() - started) / 1000 / 60).toFixed(1)} min`);
}

async function printDisk(sql: Sql, name: string): Promise<void> {
  const [db] = await sql<{ size: string }[]>`select pg_database_size(current_database())::text as size`;
  const tables = await sql<{ name: string; rows: string; total: string; heap: string; indexes: string }[]>`
    select c.relname as name, c.reltuples::bigint::text as rows, pg_total_relation_size(c.oid)::text as total,
           pg_table_size(c.oid)::text as heap, pg_indexes_size(c.oid)::text as indexes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' order by pg_total_relation_size(c.oid) desc limit 14`;
  console.log(`\ndisk of ${name}: ${mib(Number(db!.size))} (pg_database_size); load average ${load()}`);
  console.log(
    `  ${'table'.padEnd(32)} ${'rows (est.)'.padStart(12)} ${'total'.padStart(10)} ${'heap+toast'.padStart(11)} ${'indexes'.padStart(10)}`,
  );
  for (const t of tables) {
    console.log(
      `  ${t.name.padEnd(32)} ${Number(t.rows).toLocaleString('en').padStart(12)} ${mib(Number(t.total)).padStart(10)} ${mib(Number(t.heap)).padStart(11)} ${mib(Number(t.indexes)).padStart(10)}`,
    );
  }
  const per = async (table: string) => {
    const [row] = await sql<{ n: string; size: string }[]>`
      select (select count(*) from ${sql(table)})::text as n, pg_total_relation_size(${table}::regclass)::text as size`;
    return Number(row!.size) / Math.max(1, Number(row!.n));
  };
  const post = await per('booking_post');
  const message = await per('inbox_message');
  const total = Number(db!.size);
  const [counts] = await sql<{ posts: string; messages: string }[]>`
    select (select count(*) from booking_post)::text as posts, (select count(*) from inbox_message)::text as messages`;
  console.log(
    `  bytes per post (booking_post with its indexes and TOAST): ${post.toFixed(0)}; per message (inbox_message): ${message.toFixed(0)}; ` +
      `whole database per message: ${(total / Math.max(1, Number(counts!.messages))).toFixed(0)} (${Number(counts!.posts).toLocaleString('en')} posts, ${Number(counts!.messages).toLocaleString('en')} messages)`,
  );
}

interface Figures {
  ingestTps: number;
  ingestP99: number;
  e2eNps: number;
  e2eP99: number;
  readMessagesP99: number;
  readBookingsP99: number;
  readMessagesAloneP99: number;
  readBookingsAloneP99: number;
}
const FIGURES: { key: keyof Figures; label: string; higherIsBetter: boolean; unit: string }[] = [
  { key: 'ingestTps', label: 'ingest, transactions/s (1000-tx calls, 4 callers)', higherIsBetter: true, unit: '/s' },
  { key: 'ingestP99', label: 'ingest, p99 per 1000-tx call', higherIsBetter: false, unit: ' ms' },
  { key: 'e2eNps', label: 'end to end, notifications/s', higherIsBetter: true, unit: '/s' },
  { key: 'e2eP99', label: 'end to end at 200/s, answer -> message p99', higherIsBetter: false, unit: ' ms' },
  { key: 'readMessagesP99', label: 'GET /api/inbox/messages at 200/s, p99', higherIsBetter: false, unit: ' ms' },
  { key: 'readBookingsP99', label: 'GET /api/citizen/bookings at 200/s, p99', higherIsBetter: false, unit: ' ms' },
  {
    key: 'readMessagesAloneP99',
    label: 'GET /api/inbox/messages one at a time, p99',
    higherIsBetter: false,
    unit: ' ms',
  },
  {
    key: 'readBookingsAloneP99',
    label: 'GET /api/citizen/bookings one at a time, p99',
    higherIsBetter: false,
    unit: ' ms',
  },
];

function forkChild<T>(file: string, args: string[], order: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(file, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    let report: T | undefined;
    child.once('message', (message) => (report = message as T));
    child.once('error', reject);
    child.once('exit', (code) =>
      report ? resolve(report) : reject(new Error(`${path.basename(file)} exited with ${code}`)),
    );
    child.send(order as object);
  });
}

function serviceConfig(name: string, roles: string, producerUrl?: string) {
  return loadConfig({
    PORT: '0',
    DATABASE_URL: databaseUrl(name),
    CONSUMER_HSA_ID,
    FLOOD_GUARD_THRESHOLD: '0',
    APP_ENVIRONMENT: 'qa',
    ROLES: roles,
    AUTH_JWT_SECRET: JWT_SECRET,
    DATA_DIR: path.join(HERE, '../.tmp/bench-scale-data'),
    ...(producerUrl && { NTJP_GETBOOKINGDETAILS_URL: producerUrl }),
  });
}

const quietLog = () => createLogger({ level: 'warn' });

async function ingestPhase(name: string, sql: Sql, tag: string): Promise<Pick<Figures, 'ingestTps' | 'ingestP99'>> {
  const app = await buildApp({ config: serviceConfig(name, 'ingest'), log: quietLog() });
  const [before] = await sql<{ n: string; c: string }[]>`
    select coalesce((select max(id) from inbound_notification), 0)::text as n, coalesce((select max(id) from notification_call), 0)::text as c`;
  const [startedAt] = await sql<{ at: Date }[]>`select now() as at`;
  const url = `${await app.listen()}${PROCESS_NOTIFICATION_PATH}`;
  const order = (phase: string, seconds: number): LoadOrder => ({
    url,
    logicalAddress: CONSUMER_HSA_ID,
    callers: 4,
    seconds,
    transactionsPerCall: 1000,
    phase,
  });
  let report: LoadReport;
  try {
    await forkChild<LoadReport>(path.join(HERE, 'ingest-load.ts'), [], order(`${tag}w`, 2));
    report = await forkChild<LoadReport>(path.join(HERE, 'ingest-load.ts'), [], order(`${tag}m`, SECONDS));
  } finally {
    await app.close();
  }
  // What the phase wrote goes again: the filled database keeps its size from round to round.
  await sql`delete from inbound_notification where id > ${before!.n}`;
  await sql`delete from notification_call where id > ${before!.c}`;
  await sql`delete from ingest_post where updated_at >= ${startedAt!.at}`;
  // And leaves no dead entries behind in the queue's partial indexes for the next phase to walk.
  await sql`vacuum inbound_notification, notification_call, ingest_post`;
  // In the empty database that leaves an empty queue table of many pages, whose statistics (0 rows) the
  // planner scales to nothing however much is queued next; a new deployment's table has no pages and is
  // estimated by its size. Emptied the same way, it starts the next phase as a new deployment's does.
  const [queued] = await sql<{ n: number }[]>`select count(*)::int as n from inbound_notification`;
  if (queued?.n === 0) await sql`truncate inbound_notification`;
  if (report.failures > 0) console.log(`  ! ${report.failures} failed calls: ${report.failureSamples.join(' | ')}`);
  return { ingestTps: report.acceptedNew / (report.wallMs / 1000), ingestP99: percentile(report.latencies, 0.99) };
}

async function e2ePhase(
  name: string,
  sql: Sql,
  tag: string,
  producerUrl: string,
  citizens: number,
): Promise<Pick<Figures, 'e2eNps' | 'e2eP99'> & { walKiB: number; fullPages: number }> {
  const app = await buildApp({ config: serviceConfig(name, 'ingest,worker', producerUrl), log: quietLog() });
  const base = await app.listen();
  const citizen = (n: number) => `19${String(n % citizens).padStart(10, '0')}`;
  const tx = (n: number, prefix: string) =>
    engagement({
      registeredResidentIdentification: citizen(n * 7 + 13),
      logicalAddress: `SE-BENCH-VC${n % UNITS}`,
      businessObjectInstanceIdentifier: `${prefix}-${n}`,
      sourceSystem: E2E_SYSTEM,
    });
  const maxMessage = async () =>
    Number((await sql<{ n: string }[]>`select coalesce(max(id), 0)::text as n from inbox_message`)[0]!.n);
  const messagesAfter = async (id: number) =>
    Number((await sql<{ n: number }[]>`select count(*)::int as n from inbox_message where id > ${id}`)[0]!.n);
  try {
    // Throughput, with the WAL it wrote (the server's counters: nothing else writes meanwhile).
    const wal = async () =>
      (
        await sql<
          { bytes: string; fpi: string }[]
        >`select wal_bytes::text as bytes, wal_fpi::text as fpi from pg_stat_wal`
      )[0]!;
    const walBefore = await wal();
    const before = await maxMessage();
    const started = performance.now();
    let next = 0;
    const calls = Math.ceil(E2E_NOTIFICATIONS / 1000);
    await Promise.all(
      [0, 1].map(async () => {
        for (let call = next++; call < calls; call = next++) {
          const size = Math.min(1000, E2E_NOTIFICATIONS - call * 1000);
          const body = notificationEnvelope(Array.from({ length: size }, (_, i) => tx(call * 1000 + i, `${tag}T`)));
          const answer = await postNotification(base, body);
          if (answer.resultCode !== 'OK') throw new Error(`call refused: ${answer.faultstring ?? answer.comment}`);
        }
      }),
    );
    const deadline = Date.now() + 600_000;
    while ((await messagesAfter(before)) < E2E_NOTIFICATIONS && Date.now() < deadline) await sleep(100);
    const e2eNps = E2E_NOTIFICATIONS / ((performance.now() - started) / 1000);
    const walAfter = await wal();
    const walKiB = (Number(walAfter.bytes) - Number(walBefore.bytes)) / 1024 / E2E_NOTIFICATIONS;
    const fullPages = (Number(walAfter.fpi) - Number(walBefore.fpi)) / E2E_NOTIFICATIONS;

    // Latency at 200 notifications/s.
    const latencyBefore = await maxMessage();
    const answeredAt = new Map<number, number>();
    const latencyCalls = Math.max(10, Math.round((SECONDS / 2) * E2E_RATE_CALLS_PER_SECOND));
    const start = Date.now();
    const sends: Promise<void>[] = [];
    for (let call = 0; call < latencyCalls; call++) {
      await sleep(Math.max(0, start + (call * 1000) / E2E_RATE_CALLS_PER_SECOND - Date.now()));
      const body = notificationEnvelope(
        Array.from({ length: 20 }, (_, i) => tx(100_000 + call * 20 + i, `${tag}L${call}`)),
      );
      sends.push(
        postNotification(base, body).then((answer) => {
          if (answer.resultCode !== 'OK') throw new Error(`call refused: ${answer.faultstring ?? answer.comment}`);
          answeredAt.set(call, Date.now());
        }),
      );
    }
    await Promise.all(sends);
    const until = Date.now() + 120_000;
    while ((await messagesAfter(latencyBefore)) < latencyCalls * 20 && Date.now() < until) await sleep(100);
    const stored = await sql<{ booking_id: string; at: number }[]>`
      select booking->>'bookingId' as booking_id, (extract(epoch from created_at) * 1000)::float8 as at
      from inbox_message where id > ${latencyBefore}`;
    const pattern = new RegExp(`^${tag}L(\\d+)-`);
    const delays = stored.flatMap((row) => {
      const call = pattern.exec(row.booking_id ?? '');
      const answered = call ? answeredAt.get(Number(call[1])) : undefined;
      return answered === undefined ? [] : [Number(row.at) - answered];
    });
    if (delays.length < latencyCalls * 20)
      console.log(`  ! only ${delays.length} of ${latencyCalls * 20} latency messages stored`);
    return { e2eNps, e2eP99: percentile(delays, 0.99), walKiB, fullPages };
  } finally {
    await app.close();
  }
}

interface ReadOrder {
  url: string;
  token: string;
  rate: number;
  seconds: number;
  /** Instead of the open loop: this many requests one after the other (the service time, without queueing). */
  sequential?: number;
}
interface ReadReport {
  latencies: number[];
  failures: number;
  sample?: string;
}

/** The read load generator (child process): open-loop, `rate` requests/s, each timed from its due instant. */
async function runReads(order: ReadOrder): Promise<ReadReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const report: ReadReport = { latencies: [], failures: 0 };
  if (order.sequential) {
    for (let i = 0; i < order.sequential; i++) {
      const sent = performance.now();
      await new Promise<void>((resolve) => {
        http
          .get(order.url, { agent, headers: { authorization: `Bearer ${order.token}` } }, (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) report.failures++;
              report.latencies.push(performance.now() - sent);
              resolve();
            });
          })
          .on('error', () => (report.failures++, resolve()));
      });
    }
    agent.destroy();
    return report;
  }
  const total = Math.round(order.rate * order.seconds);
  const start = performance.now() + 50;
  const requests: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / order.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    requests.push(
      new Promise<void>((resolve) => {
        const req = http.get(order.url, { agent, headers: { authorization: `Bearer ${order.token}` } }, (res) => {
          let size = 0;
          res.on('data', (part: Buffer) => (size += part.length));
          res.on('end', () => {
            // From the instant it was due, not when it was sent: a late generator does not hide queueing.
            report.latencies.push(performance.now() - due);
            if (res.statusCode !== 200 || size < 10) {
              report.failures++;
              report.sample ??= `HTTP ${res.statusCode}`;
            }
            resolve();
          });
        });
        req.on('error', (error) => {
          report.failures++;
          report.sample ??= error.message;
          resolve();
        });
      }),
    );
  }
  await Promise.all(requests);
  agent.destroy();
  return report;
}

async function readPhase(
  name: string,
): Promise<Pick<Figures, 'readMessagesP99' | 'readBookingsP99' | 'readMessagesAloneP99' | 'readBookingsAloneP99'>> {
  const config = serviceConfig(name, 'web');
  const app = await buildApp({ config, log: quietLog() });
  const base = await app.listen();
  const token = await signDevelopmentToken(config, 'citizen', READER);
  try {
    const seconds = Math.max(5, SECONDS / 2);
    const self = fileURLToPath(import.meta.url);
    const p99 = async (route: string) => {
      const order: ReadOrder = { url: `${base}${route}`, token, rate: READ_RATE, seconds };
      await forkChild<ReadReport>(self, ['--reads'], { ...order, seconds: 1 });
      const report = await forkChild<ReadReport>(self, ['--reads'], order);
      if (report.failures > 0) console.log(`  ! ${route}: ${report.failures} failed (${report.sample})`);
      const alone = await forkChild<ReadReport>(self, ['--reads'], { ...order, sequential: SEQUENTIAL_READS });
      return { p99: percentile(report.latencies, 0.99), aloneP99: percentile(alone.latencies, 0.99) };
    };
    const messages = await p99('/api/inbox/messages');
    const bookings = await p99('/api/citizen/bookings');
    return {
      readMessagesP99: messages.p99,
      readBookingsP99: bookings.p99,
      readMessagesAloneP99: messages.aloneP99,
      readBookingsAloneP99: bookings.aloneP99,
    };
  } finally {
    await app.close();
  }
}

/**
 * One retention round (default RETENTION_*) at now: its time, statements and rows deleted. The fill holds
 * rows up to the retention limits, so the round deletes little and shows what walking the tables costs.
 */
async function retentionRound(name: string): Promise<void> {
  const database = await openDatabase({ databaseUrl: databaseUrl(name), maxConnections: 1, migrate: false });
  let statements = 0;
  const counted: Database = {
    ...database,
    orm: new Proxy(database.orm, {
      get(target, property, receiver) {
        if (property === 'execute')
          return (query: Parameters<typeof target.execute>[0]) => (statements++, target.execute(query));
        return Reflect.get(target, property, receiver) as unknown;
      },
    }),
  };
  try {
    const started = performance.now();
    const report = await purgeExpired(counted, loadConfig({}).retention, new Date());
    const deleted =
      Object.entries(report)
        .filter(([, n]) => n > 0)
        .map(([table, n]) => `${table} ${n}`)
        .join(', ') || 'nothing';
    console.log(
      `retention round on ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s, ${statements} statements, deleted ${deleted}; load average ${load()}`,
    );
  } finally {
    await database.close();
  }
}

async function prepare(name: string): Promise<Sql> {
  const sql = postgres(databaseUrl(name), { max: 2, onnotice: () => {} });
  await sql`insert into source_system (environment, hsa_id, name, mode) values
    ('qa', ${BENCH_SOURCE_SYSTEM}, 'Bench system', 'active'), ('qa', ${E2E_SYSTEM}, 'Bench PAS', 'active') on conflict do nothing`;
  await addReader(sql);
  return sql;
}

async function main(): Promise<void> {
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  console.log(
    `bench:scale on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; scale ${SCALE}; load average ${load()}`,
  );
  const emptyName = `ei_scale_empty_${process.pid}_${randomBytes(3).toString('hex')}`;
  try {
    await ensureFilled(admin);
    const filledSql = await prepare(FILLED);
    await printDisk(filledSql, FILLED);
    if (process.env.BENCH_SCALE_MEASURE === '0') {
      await filledSql.end();
      return;
    }
    await admin.unsafe(`create database "${emptyName}"`);
    await (await openDatabase({ databaseUrl: databaseUrl(emptyName), maxConnections: 1 })).close();
    const emptySql = await prepare(emptyName);
    const citizens = fillSizes(SCALE).citizens;
    const producer = await startProducerProcess(import.meta.url);
    const results: Record<'empty' | 'filled', Figures[]> = { empty: [], filled: [] };
    const run = Date.now().toString(36);
    try {
      console.log(
        `\n${ROUNDS} rounds; ${SECONDS} s ingest phases, ${E2E_NOTIFICATIONS} notifications end to end, reads at ${READ_RATE}/s`,
      );
      for (let round = 0; round < ROUNDS; round++) {
        const order: ('empty' | 'filled')[] = round % 2 === 0 ? ['empty', 'filled'] : ['filled', 'empty'];
        for (const which of order) {
          const name = which === 'empty' ? emptyName : FILLED;
          const sql = which === 'empty' ? emptySql : filledSql;
          const tag = `S${run}${round}${which[0]}`;
          // Each phase starts after a checkpoint: none pays for writing back what the one before changed.
          await sql`checkpoint`;
          const ingest = await ingestPhase(name, sql, tag);
          console.log(
            `round ${round + 1} ${which.padEnd(6)} ingest ${Math.round(ingest.ingestTps).toLocaleString('en')} tx/s, p99 ${ingest.ingestP99.toFixed(0)} ms; load average ${load()}`,
          );
          await sql`checkpoint`;
          const { walKiB, fullPages, ...e2e } = await e2ePhase(name, sql, tag, producer.url, citizens);
          console.log(
            `round ${round + 1} ${which.padEnd(6)} e2e ${e2e.e2eNps.toFixed(0)} notifications/s (WAL ${walKiB.toFixed(1)} KiB, ` +
              `${fullPages.toFixed(1)} full-page images per notification), p99 at 200/s ${e2e.e2eP99.toFixed(0)} ms; load average ${load()}`,
          );
          await sql`checkpoint`;
          const reads = await readPhase(name);
          console.log(
            `round ${round + 1} ${which.padEnd(6)} reads p99 at ${READ_RATE}/s: messages ${reads.readMessagesP99.toFixed(1)} ms, bookings ${reads.readBookingsP99.toFixed(1)} ms; ` +
              `one at a time: messages ${reads.readMessagesAloneP99.toFixed(1)} ms, bookings ${reads.readBookingsAloneP99.toFixed(1)} ms; load average ${load()}`,
          );
          results[which].push({ ...ingest, ...e2e, ...reads });
        }
      }
    } finally {
      producer.child.stdin?.end();
      await emptySql.end();
    }
    // Median over the rounds of each figure; the ratio filled/empty, and whether it stays within 20 %.
    const median = (values: number[]) => percentile(values, 0.5);
    console.log(
      `\n${'figure (median of rounds)'.padEnd(52)} ${'empty'.padStart(10)} ${'filled'.padStart(10)} ${'filled/empty'.padStart(13)}  within 20 %`,
    );
    for (const figure of FIGURES) {
      const empty = median(results.empty.map((r) => r[figure.key]));
      const filled = median(results.filled.map((r) => r[figure.key]));
      const ratio = filled / empty;
      const ok = figure.higherIsBetter ? ratio >= 0.8 : ratio <= 1.2;
      const show = (v: number) =>
        (figure.unit === '/s' ? Math.round(v).toLocaleString('en') : v.toFixed(1)) + figure.unit;
      console.log(
        `${figure.label.padEnd(52)} ${show(empty).padStart(10)} ${show(filled).padStart(10)} ${ratio.toFixed(2).padStart(13)}  ${ok ? 'yes' : 'NO'}`,
      );
    }
    console.log(`load average ${load()}\n`);
    if (process.env.BENCH_SCALE_RETENTION === '1') {
      await retentionRound(emptyName);
      await retentionRound(FILLED);
    }
    await printDisk(filledSql, `${FILLED} after the run`);
    await filledSql.end();
  } finally {
    await admin.unsafe(`drop database if exists "${emptyName}" with (force)`);
    if (process.env.BENCH_SCALE_DROP === '1') {
      await admin.unsafe(`drop database if exists "${FILLED}" with (force)`);
      console.log(`${FILLED} dropped (BENCH_SCALE_DROP=1)`);
    }
    await admin.end();
  }
}

if (process.argv.includes('--reads')) {
  process.once('message', (order) => {
    void runReads(order as ReadOrder).then((report) => process.send!(report, () => process.exit(0)));
  });
} else if (isProducerProcess()) {
  await serveProducer(bookedAnswer(PRODUCER_LATENCY_MS));
} else {
  await main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
