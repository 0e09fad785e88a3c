// npm run bench:fetch — GetBookingDetails calls per second through the details fetcher, against a producer
// that answers every call after 20 ms, running in its own process (so that its work does not share this
// process's event loop). The in-flight cap stays at its default; the ceiling is in-flight / latency per
// logical address.
//
//   npm run bench:fetch                 # 5 s per scenario
//   BENCH_SECONDS=10 npm run bench:fetch
import os from 'node:os';
import { createDetailsFetcher, DETAILS_FETCHER_DEFAULTS } from '../src/details-fetcher/index.js';
import { sampleTimeslot } from '../test/helpers/booking-producer.js';
import { isProducerProcess, serveProducer, startProducerProcess } from './producer-process.js';

const LATENCY_MS = 20;
const RESIDENT = '191212121212';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

if (isProducerProcess()) {
  // Every booking exists, every answer comes after LATENCY_MS.
  await serveProducer((request) => ({
    delayMs: LATENCY_MS,
    details: sampleTimeslot({
      healthcareFacility: request.logicalAddress,
      bookingId: request.bookingId,
      subjectOfCare: RESIDENT,
    }),
  }));
} else {
  await main();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

async function main(): Promise<void> {
  const { url, child } = await startProducerProcess(import.meta.url);
  const fetcher = await createDetailsFetcher({
    config: {
      consumerHsaId: 'SE-BENCH-INBOX',
      ntjp: { getBookingDetailsUrl: url, tlsCert: undefined, tlsKey: undefined, tlsCa: undefined },
    },
  });
  const cap = DETAILS_FETCHER_DEFAULTS.maxInFlightPerAddress;
  console.log(
    `GetBookingDetails bench: producer latency ${LATENCY_MS} ms (separate process), in-flight cap ${cap} per address, ${SECONDS} s per scenario`,
  );
  console.log(
    `machine: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
  );
  console.log('addresses  callers  calls   calls/s  ceiling/s  of ceiling  p50 ms  p99 ms  errors  CPU ms/call');

  for (const addresses of [1, 4]) {
    // Callers: 8 per address (exactly the cap) would leave no call waiting; 32 keep the queue full.
    const callers = 32 * addresses;
    const run = async (seconds: number) => {
      const latencies: number[] = [];
      let errors = 0;
      const end = performance.now() + seconds * 1_000;
      await Promise.all(
        Array.from({ length: callers }, async (_, caller) => {
          const logicalAddress = `SE-BENCH-${caller % addresses}`;
          let n = 0;
          while (performance.now() < end) {
            const started = performance.now();
            const outcome = await fetcher.fetch({
              logicalAddress,
              bookingId: `BOK-${caller}-${n++}`,
              resident: RESIDENT,
            });
            if (outcome.kind === 'found') latencies.push(performance.now() - started);
            else errors += 1;
          }
        }),
      );
      return { latencies, errors };
    };
    await run(1); // warm-up: connections, JIT
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const { latencies, errors } = await run(SECONDS);
    const elapsed = (performance.now() - started) / 1_000;
    const cpu = process.cpuUsage(cpuBefore);
    // This process's CPU per call: what the client costs, apart from the producer's process.
    const cpuMsPerCall = (cpu.user + cpu.system) / 1_000 / Math.max(1, latencies.length + errors);
    latencies.sort((a, b) => a - b);
    const rate = latencies.length / elapsed;
    const ceiling = (addresses * cap) / (LATENCY_MS / 1_000);
    console.log(
      [
        String(addresses).padStart(9),
        String(callers).padStart(8),
        String(latencies.length).padStart(6),
        rate.toFixed(0).padStart(9),
        ceiling.toFixed(0).padStart(10),
        `${((rate / ceiling) * 100).toFixed(1)}%`.padStart(11),
        percentile(latencies, 50).toFixed(1).padStart(7),
        percentile(latencies, 99).toFixed(1).padStart(7),
        String(errors).padStart(7),
        cpuMsPerCall.toFixed(2).padStart(12),
      ].join(' '),
    );
  }
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end`,
  );
  await fetcher.close();
  child.stdin?.end();
}
