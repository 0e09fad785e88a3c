// A GetBookingDetails producer in a process of its own, so that its work does not share the benchmarked
// process's event loop. A bench file runs itself again with `--producer`; that side calls serveProducer,
// this side startProducerProcess.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sampleTimeslot, startBookingProducer, type ProducerHandler } from '../test/helpers/booking-producer.js';

export const isProducerProcess = (): boolean => process.argv.includes('--producer');

/** The benches' answer: the booking asked for, at one fixed time, after `delayMs`. */
export const bookedAnswer =
  (delayMs: number): ProducerHandler =>
  (request) => ({
    delayMs,
    details: sampleTimeslot({
      healthcareFacility: request.logicalAddress,
      bookingId: request.bookingId,
      subjectOfCare: request.actorId,
      startTimeInclusive: '20271015093000',
      endTimeExclusive: '20271015100000',
    }),
  });

/** The producer side: answers with `handler`, prints its URL, ends when its standard input ends. */
export async function serveProducer(handler: ProducerHandler): Promise<void> {
  const producer = await startBookingProducer();
  producer.handle(handler);
  // Recorded requests would grow without end here.
  setInterval(() => producer.reset(), 1_000).unref();
  process.stdout.write(`${producer.url}\n`);
  process.stdin.on('end', () => void producer.close().then(() => process.exit(0)));
  process.stdin.resume();
}

/** Runs the bench file at `moduleUrl` again as the producer process (same loader) and waits for its URL. */
export async function startProducerProcess(moduleUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(moduleUrl), '--producer'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`producer process ended (${code})`)));
  });
  return { url, child };
}
