// The load generator of bench:ingest, run in its own process (child_process.fork from bench/ingest.ts),
// so that building bodies and reading answers does not count as the server's own work.
// It gets one LoadOrder over IPC, runs `callers` concurrent callers until `seconds` have passed, and
// answers with a LoadReport.
import http from 'node:http';
import { notificationBody } from './bodies.js';

export interface LoadOrder {
  /** Base URL and path of the endpoint. */
  url: string;
  logicalAddress: string;
  callers: number;
  seconds: number;
  transactionsPerCall: number;
  /** Makes this phase's posts distinct from every other phase's. */
  phase: string;
}

export interface LoadReport {
  calls: number;
  failures: number;
  /** The first failures' descriptions, to see what went wrong. */
  failureSamples: string[];
  /** Per-call latency, ms, unsorted. */
  latencies: number[];
  /** From the first call's start to the last call's end, ms. */
  wallMs: number;
  /** Transactions the answers said were accepted and new. */
  acceptedNew: number;
  /** CPU time of this load generator, ms. */
  cpuMs: number;
}

const SOAP_ACTION = '"urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1:ProcessNotification"';

function post(agent: http.Agent, url: URL, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': body.length, SOAPAction: SOAP_ACTION },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runLoad(order: LoadOrder): Promise<LoadReport> {
  const url = new URL(order.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: order.callers });
  const report: LoadReport = {
    calls: 0,
    failures: 0,
    failureSamples: [],
    latencies: [],
    wallMs: 0,
    acceptedNew: 0,
    cpuMs: 0,
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + order.seconds * 1000;
  let serial = 0;
  let lastEnd = started;

  async function caller(id: number): Promise<void> {
    for (let call = 0; performance.now() < deadline; call++) {
      const body = Buffer.from(
        notificationBody(order.logicalAddress, `${order.phase}-${id}-${call}`, order.transactionsPerCall, serial++),
      );
      const sent = performance.now();
      let failure: string | undefined;
      try {
        const answer = await post(agent, url, body);
        const accepted = /accepted (\d+) \(already received (\d+)\)/.exec(answer.text);
        if (answer.status !== 200 || !accepted) failure = `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
        else if (Number(accepted[1]) !== order.transactionsPerCall || accepted[2] !== '0')
          failure = `unexpected counts: ${accepted[0]}`;
        else report.acceptedNew += Number(accepted[1]) - Number(accepted[2]);
      } catch (error) {
        failure = (error as Error).message;
      }
      const ended = performance.now();
      report.calls++;
      report.latencies.push(ended - sent);
      lastEnd = Math.max(lastEnd, ended);
      if (failure !== undefined) {
        report.failures++;
        if (report.failureSamples.length < 3) report.failureSamples.push(failure);
      }
    }
  }

  await Promise.all(Array.from({ length: order.callers }, (_, id) => caller(id)));
  report.wallMs = lastEnd - started;
  const cpu = process.cpuUsage(cpuBefore);
  report.cpuMs = (cpu.user + cpu.system) / 1000;
  agent.destroy();
  return report;
}

// Forked: take one order, run it, report, and leave.
if (process.send) {
  process.once('message', (order: LoadOrder) => {
    runLoad(order).then(
      (report) => process.send!(report, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
