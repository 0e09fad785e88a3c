// /healthz: the process answers. /readyz: the database (and with KAFKA_BROKERS a Kafka broker) answers
// (503 otherwise), and what waits.
import type { Express } from 'express';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { waitingByAddress } from '../queue/index.js';

const READY_TIMEOUT_MS = 2_000;

export function mountHealth(
  app: Express,
  deps: {
    database: Database;
    config: Config;
    /** Set with KAFKA_BROKERS: rejects when no broker answers. */ pingKafka?: () => Promise<void>;
  },
): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const database = await withTimeout(deps.database.ping(), READY_TIMEOUT_MS)
      .then(() => 'ok' as const)
      .catch(() => 'unreachable' as const);
    const kafka = deps.pingKafka
      ? await withTimeout(deps.pingKafka(), READY_TIMEOUT_MS)
          .then(() => 'ok' as const)
          .catch(() => 'unreachable' as const)
      : undefined;
    const ready = database === 'ok' && kafka !== 'unreachable';
    // What waits for a producer that is down or refusing (ready all the same: it is retried, not lost).
    const byAddress =
      database === 'ok'
        ? await withTimeout(waitingByAddress(deps.database), READY_TIMEOUT_MS).catch(() => undefined)
        : undefined;
    const checks = {
      database,
      queue: database === 'ok' ? 'ok' : 'unreachable',
      ...(kafka ? { kafka } : {}),
      // Without a GetBookingDetails address, notifications are stored and wait to be processed.
      detailsFetcher: deps.config.ntjp.getBookingDetailsUrl ? 'configured' : 'not configured: processing waits',
      ...(byAddress
        ? {
            waitingForProducer: {
              total: byAddress.reduce((sum, row) => sum + row.waiting, 0),
              oldestAgeSeconds: byAddress.reduce((max, row) => Math.max(max, row.oldestAgeSeconds), 0),
              byAddress,
            },
          }
        : {}),
    };
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
