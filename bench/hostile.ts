// npm run bench:hostile: what the inputs that used to freeze the service cost now (issue 13, finding 1).
//
// The real service (buildApp, embedded in-memory database, every role, logs written with the real
// masking to a discarded stream) is started in this process. Printed:
//   1. ProcessNotification with a LogicalAddress of 30 KB, 1 MB and 5 MB (one character class that made
//      the old e-mail pattern backtrack): milliseconds per call (median of 5) and the answer;
//   2. /healthz latency (median and worst) while ten `GET /` + 15,000 characters run in parallel, and
//      while a 1 MB LogicalAddress call runs.
import { Writable } from 'node:stream';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { createLogger } from '../src/logging.js';
import { PROCESS_NOTIFICATION_PATH } from '../src/process-notifications/soap-endpoint.js';
import { notificationBody } from './bodies.js';

function envelope(logicalAddress: string): string {
  return notificationBody(logicalAddress, 'hostile', 1, 1);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await run();
  return [result, performance.now() - started];
}

/** /healthz latencies, one after another, until `busy` settles. */
async function healthWhile(url: string, busy: Promise<unknown>): Promise<number[]> {
  let done = false;
  void busy.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done || latencies.length === 0) {
    const [, ms] = await timed(() => fetch(`${url}/healthz`).then((response) => response.text()));
    latencies.push(ms);
  }
  return latencies;
}

async function main(): Promise<void> {
  const database = await openDatabase({});
  const config = loadConfig({ PORT: '0', DATA_DIR: '.tmp/bench-hostile', CONSUMER_HSA_ID: 'SE-BENCH-INBOX' });
  const log = createLogger({
    level: 'info',
    destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
  const app = await buildApp({ config, database, log });
  const url = await app.listen();
  const post = (body: string) =>
    fetch(`${url}${PROCESS_NOTIFICATION_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body,
    }).then(async (response) => ({
      status: response.status,
      text: await response.text(),
    }));
  try {
    await post(envelope('x'.repeat(1000)));
    console.log('ProcessNotification with a long LogicalAddress (median of 5 calls)');
    for (const [label, size] of [
      ['30 KB', 30 * 1024],
      ['1 MB', 1024 * 1024],
      ['5 MB', 5 * 1024 * 1024],
    ] as const) {
      const body = envelope('x'.repeat(size));
      const times: number[] = [];
      let answer = { status: 0, text: '' };
      for (let i = 0; i < 5; i++) {
        const [result, ms] = await timed(() => post(body));
        answer = result;
        times.push(ms);
      }
      const fault = /<faultstring>([^<]{0,80})/.exec(answer.text)?.[1] ?? '';
      console.log(
        `  ${label.padEnd(6)} ${median(times).toFixed(1).padStart(8)} ms   HTTP ${answer.status}, ${fault}...`,
      );
    }

    const longPath = `/${'a'.repeat(15_000)}`;
    const tenLongPaths = Promise.all(
      Array.from({ length: 10 }, () => fetch(`${url}${longPath}`).then((response) => response.text())),
    );
    const underPaths = await healthWhile(url, tenLongPaths);
    console.log(
      `/healthz while ten GET / + 15,000 characters run: median ${median(underPaths).toFixed(1)} ms, worst ${Math.max(...underPaths).toFixed(1)} ms (${underPaths.length} probes)`,
    );

    const bigCall = post(envelope('x'.repeat(1024 * 1024)));
    const underCall = await healthWhile(url, bigCall);
    console.log(
      `/healthz while a 1 MB LogicalAddress call runs: median ${median(underCall).toFixed(1)} ms, worst ${Math.max(...underCall).toFixed(1)} ms (${underCall.length} probes)`,
    );
  } finally {
    await app.close();
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
