// npm run bench:anchor: ei-inbox's ingest against the Java anchor, side by side in one run.
//
// The anchor (bench/anchor/) is what a Java team would write instead: a plain Apache CXF endpoint
// generated from our WSDL that stores each call's transactions with one JDBC batch insert. This script
// builds it with Maven (once: `mvn -q`, target/ is the cache), starts it with java, and starts ei-inbox as
// `npm run dev` would (its own process, ROLES=ingest), each on its own fresh database next to DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test; both dropped at the end). The same load generator
// (bench/ingest-load.ts: 4 callers, 1000-transaction calls with fresh ids) drives both; after a warm-up of
// each (the JVM's longer), rounds alternate between the two sides (A B, B A, ...), so that whatever else
// loads the machine weighs on both alike. Printed per round and per side, and as ratios ei-inbox/anchor:
//   - ingest throughput: transactions stored per second (rows counted in the database);
//   - p99 per call;
//   - CPU per 1000 transactions: the server process (all its threads) plus its PostgreSQL backends,
//     both read from /proc/<pid>/stat (backends by pg_stat_activity of the side's database).
// Each line carries the load average. Settings: BENCH_SECONDS (per side and round, default 10),
// BENCH_ROUNDS (default 3), BENCH_WARMUP_SECONDS (default 15 for the JVM, a third of it for ei-inbox),
// BENCH_CPU_PROF=1 (a CPU profile of ei-inbox into .tmp/prof/), BENCH_PORT (ei-inbox on it, the anchor on the next; default: free ports), and every ei-inbox variable (INGEST_THREADS...) passes through to the service.
import { spawn, spawnSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { sourceSystems } from '../src/activation-registry/schema.js';
import { openDatabase } from '../src/db/database.js';
import { PROCESS_NOTIFICATION_PATH } from '../src/process-notifications/soap-endpoint.js';
import { BENCH_SOURCE_SYSTEM } from './bodies.js';
import type { LoadOrder, LoadReport } from './ingest-load.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const ANCHOR_DIR = path.join(HERE, 'anchor');
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const JVM_WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 15);
const CALLERS = 4;
const TRANSACTIONS_PER_CALL = 1000;
const CONSUMER_HSA_ID = 'SE-BENCH-INBOX';
const TARGET_RATIO = 0.8;
/** BENCH_PORT: ei-inbox on it, the anchor on the next; unset: two free ports. */
const BASE_PORT = Number(process.env.BENCH_PORT ?? 0);
const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process (all its threads), ms; NaN when it is gone. */
function processCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
  } catch {
    return NaN;
  }
}

const load = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function runLoadProcess(order: LoadOrder): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(HERE, 'ingest-load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    let report: LoadReport | undefined;
    child.once('message', (message) => (report = message as LoadReport));
    child.once('error', reject);
    child.once('exit', (code) => (report ? resolve(report) : reject(new Error(`load generator exited with ${code}`))));
    child.send(order);
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Builds the anchor unless target/ already holds a build newer than its sources. */
function buildAnchor(): { classpath: string } {
  const classpathFile = path.join(ANCHOR_DIR, 'target/classpath.txt');
  const built = path.join(ANCHOR_DIR, 'target/classes/se/inera/eiinbox/anchor/AnchorServer.class');
  const sources = [
    path.join(ANCHOR_DIR, 'pom.xml'),
    path.join(ANCHOR_DIR, 'src/main/java/se/inera/eiinbox/anchor/AnchorServer.java'),
  ];
  const stale =
    !fs.existsSync(classpathFile) ||
    !fs.existsSync(built) ||
    sources.some((file) => fs.statSync(file).mtimeMs > fs.statSync(built).mtimeMs);
  if (stale) {
    console.log('building the anchor (mvn -q compile; Maven Central on the first run)...');
    const result = spawnSync(
      'mvn',
      [
        '-q',
        '-f',
        path.join(ANCHOR_DIR, 'pom.xml'),
        'compile',
        'dependency:build-classpath',
        `-Dmdep.outputFile=${classpathFile}`,
      ],
      { stdio: 'inherit' },
    );
    if (result.status !== 0)
      throw new Error(
        `mvn failed (${result.error?.message ?? `exit ${result.status}`}); Java 17+ and Maven are needed`,
      );
  }
  return {
    classpath: `${path.join(ANCHOR_DIR, 'target/classes')}${path.delimiter}${fs.readFileSync(classpathFile, 'utf8').trim()}`,
  };
}

/** Waits until `url` answers a GET at all (any status). */
async function waitForHttp(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it answered`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`${what} did not answer within 120 s`);
}

interface Side {
  name: string;
  url: string;
  pid: number;
  database: string;
  table: string;
  /** Summed over the measured rounds. */
  stored: number;
  wallMs: number;
  cpuMs: number;
  /** Of cpuMs, the server process's own. */
  serverCpuMs: number;
  latencies: number[];
  failures: number;
}

async function main(): Promise<void> {
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const serviceDb = `ei_anchor_svc_${tag}`;
  const anchorDb = `ei_anchor_jvm_${tag}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  const dbUrl = (name: string) => {
    const url = new URL(SERVER_URL);
    url.pathname = `/${name}`;
    return url;
  };
  console.log(
    `bench:anchor on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${load()}`,
  );
  console.log(
    `${ROUNDS} rounds × ${SECONDS} s per side, alternated; ${CALLERS} callers, ${TRANSACTIONS_PER_CALL}-transaction calls; databases ${serviceDb}, ${anchorDb} (dropped at the end)\n`,
  );

  const { classpath } = buildAnchor();
  const children: ChildProcess[] = [];
  await admin.unsafe(`create database ${serviceDb}`);
  await admin.unsafe(`create database ${anchorDb}`);
  try {
    // ei-inbox: migrations and the registry (the bench's source system active: every transaction accepted).
    const setup = await openDatabase({ databaseUrl: dbUrl(serviceDb).toString(), maxConnections: 2 });
    await setup.orm
      .insert(sourceSystems)
      .values({ environment: 'qa', hsaId: BENCH_SOURCE_SYSTEM, name: 'Bench system', mode: 'active' });
    await setup.close();

    const logDir = path.join(ROOT, '.tmp');
    fs.mkdirSync(logDir, { recursive: true });
    const servicePort = BASE_PORT ? BASE_PORT : await freePort();
    // BENCH_CPU_PROF=1: a V8 CPU profile of the service, written to .tmp/prof/ when it stops.
    const profile =
      process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(logDir, 'prof')}`] : [];
    const service = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(servicePort),
        DATABASE_URL: dbUrl(serviceDb).toString(),
        CONSUMER_HSA_ID,
        // Hundreds of posts from care units new to this database: not a flood-guard test.
        FLOOD_GUARD_THRESHOLD: '0',
        APP_ENVIRONMENT: 'qa',
        ROLES: 'ingest',
        DATA_DIR: path.join(logDir, 'bench-anchor-data'),
      },
      stdio: ['ignore', fs.openSync(path.join(logDir, 'bench-anchor-service.log'), 'w'), 'inherit'],
    });
    children.push(service);
    await waitForHttp(`http://127.0.0.1:${servicePort}/healthz`, service, 'ei-inbox');

    const anchorPort = BASE_PORT ? BASE_PORT + 1 : await freePort();
    const jdbc = dbUrl(anchorDb);
    const jdbcUrl =
      `jdbc:postgresql://${jdbc.host}${jdbc.pathname}?user=${decodeURIComponent(jdbc.username || 'postgres')}` +
      `${jdbc.password ? `&password=${decodeURIComponent(jdbc.password)}` : ''}&reWriteBatchedInserts=true`;
    const anchor = spawn(
      'java',
      ['-cp', classpath, 'se.inera.eiinbox.anchor.AnchorServer', String(anchorPort), jdbcUrl],
      {
        stdio: ['ignore', fs.openSync(path.join(logDir, 'bench-anchor-jvm.log'), 'w'), 'inherit'],
      },
    );
    children.push(anchor);
    const anchorPath = `http://127.0.0.1:${anchorPort}${PROCESS_NOTIFICATION_PATH}`;
    await waitForHttp(`${anchorPath}?wsdl`, anchor, 'the anchor');

    const sides: Side[] = [
      {
        name: 'ei-inbox',
        url: `http://127.0.0.1:${servicePort}${PROCESS_NOTIFICATION_PATH}`,
        pid: service.pid!,
        database: serviceDb,
        table: 'inbound_notification',
        stored: 0,
        wallMs: 0,
        cpuMs: 0,
        serverCpuMs: 0,
        latencies: [],
        failures: 0,
      },
      {
        name: 'anchor',
        url: anchorPath,
        pid: anchor.pid!,
        database: anchorDb,
        table: 'anchor_notification',
        stored: 0,
        wallMs: 0,
        cpuMs: 0,
        serverCpuMs: 0,
        latencies: [],
        failures: 0,
      },
    ];
    const counters = new Map(
      sides.map((side) => [side.name, postgres(dbUrl(side.database).toString(), { max: 1, onnotice: () => {} })]),
    );
    const count = async (side: Side) => {
      const sql = counters.get(side.name)!;
      return Number((await sql`select count(*)::int as n from ${sql(side.table)}`)[0]!.n);
    };
    /** CPU ms of the side's server plus its database backends (other than this script's counter). */
    const cpuOf = async (side: Side): Promise<Map<number, number>> => {
      const sql = counters.get(side.name)!;
      const pids = await sql<
        { pid: number }[]
      >`select pid from pg_stat_activity where datname = ${side.database} and pid <> pg_backend_pid()`;
      return new Map([
        [side.pid, processCpuMs(side.pid)],
        ...pids.map(({ pid }): [number, number] => [pid, processCpuMs(pid)]),
      ]);
    };
    let serial = 0;
    const order = (side: Side, seconds: number): LoadOrder => ({
      url: side.url,
      logicalAddress: CONSUMER_HSA_ID,
      callers: CALLERS,
      seconds,
      transactionsPerCall: TRANSACTIONS_PER_CALL,
      phase: `${side.name}${serial++}`,
    });

    async function round(side: Side, label: string): Promise<void> {
      const before = await count(side);
      const cpuBefore = await cpuOf(side);
      const report = await runLoadProcess(order(side, SECONDS));
      const cpuAfter = await cpuOf(side);
      const stored = (await count(side)) - before;
      let cpuMs = 0;
      // A backend that started during the round counts from zero; one that ended is lost (rare: pools keep them).
      for (const [pid, after] of cpuAfter) if (!Number.isNaN(after)) cpuMs += after - (cpuBefore.get(pid) ?? 0);
      side.stored += stored;
      side.wallMs += report.wallMs;
      side.cpuMs += cpuMs;
      const serverMs = (cpuAfter.get(side.pid) ?? NaN) - (cpuBefore.get(side.pid) ?? NaN);
      side.serverCpuMs += serverMs;
      side.latencies.push(...report.latencies);
      side.failures += report.failures;
      const sorted = [...report.latencies].sort((a, b) => a - b);
      console.log(
        `${label.padEnd(10)} ${side.name.padEnd(9)} ${String(report.calls).padStart(5)} calls, ${String(report.failures).padStart(2)} failed, ` +
          `${Math.round(stored / (report.wallMs / 1000))
            .toLocaleString('en')
            .padStart(7)} tx/s, p99 ${percentile(sorted, 0.99).toFixed(0).padStart(4)} ms, ` +
          `CPU ${((cpuMs / Math.max(1, stored)) * 1000).toFixed(1).padStart(5)} ms/1000 tx (server ${((serverMs / Math.max(1, stored)) * 1000).toFixed(1)}); load average ${load()}`,
      );
      if (stored !== report.acceptedNew)
        console.log(
          `  ! rows stored (${stored}) differ from transactions answered as accepted (${report.acceptedNew})`,
        );
      for (const sample of report.failureSamples) console.log(`  ! ${sample}`);
    }

    // Warm-up: the JVM needs its JIT; the service its own (shorter) one. Not counted.
    console.log(`warm-up: anchor ${JVM_WARMUP} s, ei-inbox ${Math.ceil(JVM_WARMUP / 3)} s (not counted)`);
    await runLoadProcess(order(sides[1]!, JVM_WARMUP));
    await runLoadProcess(order(sides[0]!, Math.ceil(JVM_WARMUP / 3)));
    for (let r = 0; r < ROUNDS; r++) {
      const pair = r % 2 === 0 ? [sides[0]!, sides[1]!] : [sides[1]!, sides[0]!];
      for (const side of pair) await round(side, `round ${r + 1}`);
    }
    for (const sql of counters.values()) await sql.end();

    const figures = sides.map((side) => ({
      side,
      throughput: side.stored / (side.wallMs / 1000),
      p99: percentile(
        [...side.latencies].sort((a, b) => a - b),
        0.99,
      ),
      cpu: (side.cpuMs / Math.max(1, side.stored)) * 1000,
    }));
    const [svc, jvm] = figures as [(typeof figures)[0], (typeof figures)[0]];
    console.log(`\nOver all rounds (load average ${load()}):`);
    console.log(`  ${''.padEnd(30)} ${'ei-inbox'.padStart(10)} ${'anchor'.padStart(10)}  ratio ei-inbox/anchor`);
    console.log(
      `  ${'ingest throughput, tx/s'.padEnd(30)} ${Math.round(svc.throughput).toLocaleString('en').padStart(10)} ${Math.round(jvm.throughput).toLocaleString('en').padStart(10)}  ${(svc.throughput / jvm.throughput).toFixed(2)} (higher is better; target >= ${TARGET_RATIO})`,
    );
    console.log(
      `  ${'p99 per call, ms'.padEnd(30)} ${svc.p99.toFixed(0).padStart(10)} ${jvm.p99.toFixed(0).padStart(10)}  ${(svc.p99 / jvm.p99).toFixed(2)} (lower is better)`,
    );
    console.log(
      `  ${'CPU per 1000 tx, ms'.padEnd(30)} ${svc.cpu.toFixed(1).padStart(10)} ${jvm.cpu.toFixed(1).padStart(10)}  ${(svc.cpu / jvm.cpu).toFixed(2)} (lower is better; server + its PostgreSQL backends)`,
    );
    console.log(
      `  ${'  of which the server process'.padEnd(30)} ${((svc.side.serverCpuMs / Math.max(1, svc.side.stored)) * 1000).toFixed(1).padStart(10)} ${((jvm.side.serverCpuMs / Math.max(1, jvm.side.stored)) * 1000).toFixed(1).padStart(10)}`,
    );
    console.log(
      `  throughput target (>= ${TARGET_RATIO}): ${svc.throughput / jvm.throughput >= TARGET_RATIO ? 'met' : 'MISSED'}`,
    );
    if (sides.some((side) => side.failures > 0)) process.exitCode = 1;
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)),
      ),
    );
    for (const name of [serviceDb, anchorDb]) await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
