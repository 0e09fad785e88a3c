// Ingest threads: reading and checking a call's XML (the ingest's CPU-heavy part) on worker threads, so
// that the ingest uses every core while the main thread keeps to HTTP, the registry and the database.
// INGEST_THREADS sets their number (0: everything on the main thread). Small calls stay on the main
// thread: for them the hand-over would cost more than it saves. Why threads and not processes:
// docs/ARCHITECTURE.md, "Ingest on every core".
import { Worker } from 'node:worker_threads';
import { EnvelopeError } from './envelope-parser.js';
import type { PreparedNotification } from './prepare.js';

/** Bodies below this many bytes (a handful of transactions) are read on the main thread. */
export const POOL_MIN_BYTES = 16 * 1024;

export interface ParseRequest {
  id: number;
  body: Uint8Array;
}

export type ParseReply =
  | { id: number; ok: true; notification: PreparedNotification }
  | { id: number; ok: false; envelope?: { message: string; faultcode: 'Client' | 'VersionMismatch' } };

/** The thread failed (not the call): the caller answers soap:Server, so that EI retries. */
export class IngestThreadError extends Error {
  override name = 'IngestThreadError';
}

export interface ParsePool {
  readonly threads: number;
  /**
   * Decodes, reads and prepares a body; rejects with EnvelopeError for a bad call, IngestThreadError
   * otherwise. The body is handed over: do not use it afterwards.
   */
  prepare(body: Uint8Array): Promise<PreparedNotification>;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve(value: PreparedNotification): void; reject(error: Error): void }>;
}

// Under tsx (npm run dev) and vitest the sources are TypeScript: the thread then loads the worker
// through tsx's own API (a worker's --import is not honoured for its entry file on Node 20).
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./parse-worker.${FROM_SOURCES ? 'ts' : 'js'}`, import.meta.url);

function newWorker(): Worker {
  if (!FROM_SOURCES) return new Worker(WORKER_URL);
  // Resolved from here (not from the working directory) where the runtime can; vitest runs from the root anyway.
  const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const boot =
    `import(${JSON.stringify(tsx)})` +
    `.then(({ tsImport }) => tsImport(${JSON.stringify(WORKER_URL.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true });
}

export function createParsePool(threads: number): ParsePool {
  let nextId = 0;
  let closed = false;
  const slots: Slot[] = [];

  function spawn(index: number): void {
    const worker = newWorker();
    // An idle pool does not keep the process alive; close() ends the threads.
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: ParseReply) => {
      const waiting = slot.pending.get(reply.id);
      if (!waiting) return;
      slot.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.notification);
      else if (reply.envelope) waiting.reject(new EnvelopeError(reply.envelope.message, reply.envelope.faultcode));
      else waiting.reject(new IngestThreadError('The ingest thread could not read the call'));
    });
    const fail = () => {
      // Calls in hand fail (soap:Server, EI retries); a fresh thread takes the slot.
      for (const waiting of slot.pending.values()) waiting.reject(new IngestThreadError('An ingest thread stopped'));
      slot.pending.clear();
      if (!closed && slots[index] === slot) spawn(index);
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    slots[index] = slot;
  }
  // Started at the first call that needs them: a service (or test) that never gets a large call pays nothing.
  const start = () => {
    if (slots.length === 0) for (let i = 0; i < threads; i++) spawn(i);
  };

  return {
    threads,
    prepare(body) {
      if (closed) return Promise.reject(new IngestThreadError('The ingest threads are stopped'));
      start();
      // The thread with the fewest calls in hand.
      let slot = slots[0]!;
      for (const candidate of slots) if (candidate.pending.size < slot.pending.size) slot = candidate;
      const id = nextId++;
      return new Promise<PreparedNotification>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        // A body that owns its whole memory is moved to the thread (the caller gives it up); one that shares
        // it with other buffers (Node's small-buffer pool) is copied.
        const owns =
          body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
        slot.worker.postMessage({ id, body } satisfies ParseRequest, owns ? [body.buffer as ArrayBuffer] : []);
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
