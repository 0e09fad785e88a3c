// npm run bench:startup: time from process start to healthy, on a fresh data folder (the embedded
// database created and migrated from nothing) with NODE_ENV=production, for the production build
// (`node <flags> dist/main.js`, what `npm start` runs, its flags read from package.json) and, for
// comparison, the TypeScript sources through tsx (`npm run dev`). Healthy: /healthz answers 200; ready:
// /readyz answers 200 (database up, migrated). Also the CPU time the process had used when healthy
// (Linux, /proc): on a shared, loaded machine the wall-clock figures grow with the load, the CPU time
// hardly. BENCH_STARTUP_RUNS runs of each (default 5); prints each run, then the medians and the range.
//
//   npm run build && npm run bench:startup
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/net.js';
import { startCommand } from '../scripts/start-command.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const modes: { name: string; args: string[] }[] = [
  { name: `${startCommand().command} (npm start)`, args: startCommand().args },
  { name: 'tsx src/main.ts (npm run dev)', args: ['--import', 'tsx', 'src/main.ts'] },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ok(url: string): Promise<boolean> {
  return fetch(url)
    .then(async (response) => {
      await response.arrayBuffer();
      return response.ok;
    })
    .catch(() => false);
}

/** CPU seconds (user + system) a process has used so far; NaN where /proc is not there. */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function once(args: string[]): Promise<{ healthyMs: number; readyMs: number; cpuS: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-inbox-startup-'));
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  for (const name of ['DATABASE_URL', 'KAFKA_BROKERS', 'ROLES']) delete env[name];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-2000)));
  const base = `http://127.0.0.1:${port}`;
  let healthyMs = 0;
  let cpuS = Number.NaN;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service ended (${child.exitCode}): ${errors}`);
      if (performance.now() - started > 120_000) throw new Error('not ready within 120 s');
      if (!healthyMs && (await ok(`${base}/healthz`))) {
        healthyMs = performance.now() - started;
        cpuS = cpuSeconds(child.pid!);
      }
      if (healthyMs && (await ok(`${base}/readyz`))) return { healthyMs, readyMs: performance.now() - started, cpuS };
      await sleep(20);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (!fs.existsSync(path.join(ROOT, 'dist/main.js'))) {
  console.error('no dist/main.js: run npm run build first');
  process.exit(1);
}
console.log(
  `bench:startup: ${RUNS} runs each, fresh data folder, NODE_ENV=production, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
);
for (const mode of modes) {
  const healthy: number[] = [];
  const ready: number[] = [];
  const cpu: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const result = await once(mode.args);
    healthy.push(result.healthyMs);
    ready.push(result.readyMs);
    cpu.push(result.cpuS * 1000);
    console.log(
      `  ${mode.name}: healthy ${(result.healthyMs / 1000).toFixed(2)} s, ready ${(result.readyMs / 1000).toFixed(2)} s, CPU time ${result.cpuS.toFixed(2)} s`,
    );
  }
  const range = (values: number[]) =>
    `${(Math.min(...values) / 1000).toFixed(2)}-${(Math.max(...values) / 1000).toFixed(2)} s`;
  console.log(
    `${mode.name}: healthy median ${(median(healthy) / 1000).toFixed(2)} s (${range(healthy)}), ready median ${(median(ready) / 1000).toFixed(2)} s (${range(ready)}), CPU time median ${(median(cpu) / 1000).toFixed(2)} s`,
  );
}
