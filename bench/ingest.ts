// npm run bench:ingest: ProcessNotification throughput and latency against PostgreSQL.
//
// A fresh database is created next to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
// and dropped at the end. The real service (buildApp, ingest role, the bench's source system active
// in the registry so that every transaction is accepted) is started in this process; the load
// generator runs in its own process (bench/ingest-load.ts). Phases:
//   1. 1000-transaction calls from 4 concurrent callers, BENCH_SECONDS (default 20) measured after a
//      short warm-up: transactions/s stored (counted in inbound_notification), p50/p99 per call;
//   2. single-transaction calls, 1 caller and 4 callers: p50/p99;
//   3. the same 1000-transaction load on a minimal baseline server (bench/baseline-server.ts), and the
//      ratio service/baseline.
// BENCH_SECONDS shortens or lengthens phases 1 and 3 (phase 2 takes half of it, at least 5 s).
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import postgres from 'postgres';
import { sourceSystems } from '../src/activation-registry/schema.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { createLogger } from '../src/logging.js';
import { PROCESS_NOTIFICATION_PATH } from '../src/process-notifications/soap-endpoint.js';
import { BASELINE_TABLE, startBaseline } from './baseline-server.js';
import { BENCH_SOURCE_SYSTEM } from './bodies.js';
import type { LoadOrder, LoadReport } from './ingest-load.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SINGLE_SECONDS = Math.max(5, SECONDS / 2);
const WARMUP_SECONDS = Math.min(3, SECONDS / 4);
const CALLERS = 4;
const CONSUMER_HSA_ID = 'SE-BENCH-INBOX';

const TARGETS = { transactionsPerSecond: 12_000, p99BulkMs: 400, p99SingleMs: 20, ratio: 0.6 };

interface PhaseResult {
  name: string;
  report: LoadReport;
  stored: number;
  storedPerSecond: number;
  p50: number;
  p99: number;
  /** CPU time per 1000 stored transactions, ms: this process (the server), the database backends. */
  cpuServer: number;
  cpuDatabase: number | undefined;
}

// CPU time of the database's backends serving the bench database, from /proc (PostgreSQL on this
// machine). Unlike wall-clock figures it hardly depends on what else runs on the machine.
const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux
function processCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
  } catch {
    return NaN;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Runs one order in a forked load generator and waits for its report. */
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

async function main(): Promise<void> {
  const name = `ei_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  console.log(
    `bench:ingest on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `database ${name} (dropped at the end); ${SECONDS} s per bulk phase, ${SINGLE_SECONDS} s per single phase, ${CALLERS} callers\n`,
  );

  const results: PhaseResult[] = [];
  try {
    // Registry: the bench's source system is active, so every transaction is accepted.
    const setup = await openDatabase({ databaseUrl, maxConnections: 2 });
    await setup.orm
      .insert(sourceSystems)
      .values({ environment: 'qa', hsaId: BENCH_SOURCE_SYSTEM, name: 'Bench system', mode: 'active' });
    await setup.close();

    const counter = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const count = async (table: string) =>
      Number((await counter`select count(*)::int as n from ${counter(table)}`)[0]!.n);
    const localDatabase = ['127.0.0.1', 'localhost', '::1', ''].includes(url.hostname);
    /** CPU ms of every backend of the bench database (except this counter's), by pid. */
    const backendCpu = async (): Promise<Map<number, number>> => {
      const pids = await counter<
        { pid: number }[]
      >`select pid from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
      return new Map(pids.map(({ pid }) => [pid, processCpuMs(pid)]));
    };

    async function phase(
      label: string,
      target: string,
      table: string,
      transactionsPerCall: number,
      callers: number,
      seconds: number,
    ) {
      const order = (tag: string, secs: number): LoadOrder => ({
        url: target,
        logicalAddress: CONSUMER_HSA_ID,
        callers,
        seconds: secs,
        transactionsPerCall,
        phase: `${label.replace(/\W+/g, '')}${tag}`,
      });
      if (WARMUP_SECONDS > 0) await runLoadProcess(order('w', WARMUP_SECONDS));
      const before = await count(table);
      const cpuBefore = process.cpuUsage();
      const backendsBefore = localDatabase ? await backendCpu() : undefined;
      const report = await runLoadProcess(order('m', seconds));
      const cpu = process.cpuUsage(cpuBefore);
      const backendsAfter = localDatabase ? await backendCpu() : undefined;
      const stored = (await count(table)) - before;
      let databaseMs: number | undefined;
      if (backendsBefore && backendsAfter) {
        databaseMs = 0;
        for (const [pid, after] of backendsAfter) databaseMs += after - (backendsBefore.get(pid) ?? 0);
        if (Number.isNaN(databaseMs)) databaseMs = undefined;
      }
      const perThousand = (ms: number) => (ms / Math.max(1, stored)) * 1000;
      const sorted = [...report.latencies].sort((a, b) => a - b);
      const result: PhaseResult = {
        name: label,
        report,
        stored,
        storedPerSecond: stored / (report.wallMs / 1000),
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        cpuServer: perThousand((cpu.user + cpu.system) / 1000),
        cpuDatabase: databaseMs === undefined ? undefined : perThousand(databaseMs),
      };
      results.push(result);
      console.log(
        `${label.padEnd(44)} ${String(report.calls).padStart(6)} calls, ${String(report.failures).padStart(3)} failed, ` +
          `${Math.round(result.storedPerSecond).toLocaleString('en').padStart(7)} tx/s stored (${stored.toLocaleString('en')} rows), ` +
          `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms; ` +
          `CPU per 1000 tx: server ${result.cpuServer.toFixed(0)} ms, database ${result.cpuDatabase?.toFixed(0) ?? '?'} ms, ` +
          `load generator ${perThousand(report.cpuMs).toFixed(0)} ms`,
      );
      if (stored !== report.acceptedNew)
        console.log(
          `  ! rows stored (${stored}) differ from transactions answered as accepted (${report.acceptedNew})`,
        );
      for (const sample of report.failureSamples) console.log(`  ! ${sample}`);
      return result;
    }

    // The real service, as `npm start` builds it, with only the ingest role (no worker competing).
    const logFile = path.join(HERE, '../.tmp/bench-ingest-service.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const config = loadConfig({
      PORT: '0',
      DATABASE_URL: databaseUrl,
      CONSUMER_HSA_ID,
      // Hundreds of posts from care units new to this database: not a flood-guard test (the guard would hold them).
      FLOOD_GUARD_THRESHOLD: '0',
      APP_ENVIRONMENT: 'qa',
      ROLES: 'ingest',
      DATA_DIR: path.join(HERE, '../.tmp/bench-data'),
    });
    const log = createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: false }) });
    const app = await buildApp({ config, log });
    const serviceUrl = `${await app.listen()}${PROCESS_NOTIFICATION_PATH}`;
    let bulk: PhaseResult;
    let single1: PhaseResult;
    let single4: PhaseResult;
    try {
      bulk = await phase(
        'service, 1000-tx calls, 4 callers',
        serviceUrl,
        'inbound_notification',
        1000,
        CALLERS,
        SECONDS,
      );
      single1 = await phase('service, 1-tx calls, 1 caller', serviceUrl, 'inbound_notification', 1, 1, SINGLE_SECONDS);
      single4 = await phase(
        'service, 1-tx calls, 4 callers',
        serviceUrl,
        'inbound_notification',
        1,
        CALLERS,
        SINGLE_SECONDS,
      );
    } finally {
      await app.close();
    }

    const baseline = await startBaseline(databaseUrl);
    let base: PhaseResult;
    try {
      base = await phase('baseline, 1000-tx calls, 4 callers', baseline.url, BASELINE_TABLE, 1000, CALLERS, SECONDS);
    } finally {
      await baseline.close();
    }
    await counter.end();

    const ratio = bulk.storedPerSecond / base.storedPerSecond;
    const cpuRatio =
      bulk.cpuDatabase === undefined || base.cpuDatabase === undefined
        ? undefined
        : (base.cpuServer + base.cpuDatabase) / (bulk.cpuServer + bulk.cpuDatabase);
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    console.log('\nTargets');
    console.log(
      `  stored transactions/s   ${Math.round(bulk.storedPerSecond).toLocaleString('en')} (>= ${TARGETS.transactionsPerSecond.toLocaleString('en')}): ${verdict(bulk.storedPerSecond >= TARGETS.transactionsPerSecond)}`,
    );
    console.log(
      `  p99, 1000-tx call       ${bulk.p99.toFixed(1)} ms (<= ${TARGETS.p99BulkMs}): ${verdict(bulk.p99 <= TARGETS.p99BulkMs)}`,
    );
    console.log(
      `  p99, 1-tx call          ${single1.p99.toFixed(1)} ms with 1 caller, ${single4.p99.toFixed(1)} ms with 4 (<= ${TARGETS.p99SingleMs}): ${verdict(Math.max(single1.p99, single4.p99) <= TARGETS.p99SingleMs)}`,
    );
    console.log(
      `  service/baseline        ${ratio.toFixed(2)} (>= ${TARGETS.ratio}): ${verdict(ratio >= TARGETS.ratio)}`,
    );
    if (cpuRatio !== undefined) {
      console.log(
        `  (by CPU time per transaction, server + database, less sensitive to other load: ${cpuRatio.toFixed(2)})`,
      );
    }
    if (results.some((r) => r.report.failures > 0)) process.exitCode = 1;
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
