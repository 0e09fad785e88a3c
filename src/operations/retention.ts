// The purge job (worker role): every RETENTION_INTERVAL_MINUTES, each component deletes its own rows
// that are past their retention period (docs/OPERATIONS.md, "Retention"), through its own interface,
// in slices of RETENTION_BATCH_SIZE rows per statement. Several workers may run it at once: deleting
// what is already deleted is harmless, and each statement is short.
import { purgeAuditLog } from '../activation-registry/index.js';
import { purgeChannels } from '../channels/index.js';
import type { Retention } from '../config.js';
import type { Database } from '../db/index.js';
import type { PurgeOptions } from '../db/index.js';
import { purgeInbox } from '../inbox/index.js';
import { purgeEngineRecords } from '../message-engine/index.js';
import type { Logger } from '../logging.js';
import { purgeIngestRecords } from '../process-notifications/index.js';
import { purgeQueue } from '../queue/index.js';
import { ACTIVITY_RETENTION_DAYS, purgeSourceActivity } from '../source-activity/index.js';

const DAY_MS = 86_400_000;
/**
 * Redelivery fingerprints are kept an hour beyond the window: a margin for the service's and the
 * database's clocks, and for a window raised at a restart (posts fingerprinted under the old one keep theirs).
 */
const FINGERPRINT_MARGIN_MS = 3_600_000;
/** Slices per table per round: a round stays bounded; the rest waits for the next round. */
const MAX_SLICES = 1_000;

export type PurgeReport = Record<string, number>;

/** One purge round at `now`: how many rows each table lost. */
export async function purgeExpired(database: Database, retention: Retention, now: Date): Promise<PurgeReport> {
  const before = (days: number) => new Date(now.getTime() - days * DAY_MS);
  const options: PurgeOptions = { sliceSize: retention.batchSize, maxSlices: MAX_SLICES };
  return {
    ...(await purgeQueue(
      database,
      { doneBefore: before(retention.queueDays), deadBefore: before(retention.deadLetterDays) },
      options,
    )),
    ...(await purgeIngestRecords(
      database,
      {
        callsBefore: before(retention.callDays),
        rejectedBefore: before(retention.rejectedDays),
        fingerprintsBefore: new Date(now.getTime() - retention.redeliveryWindowSeconds * 1000 - FINGERPRINT_MARGIN_MS),
      },
      options,
    )),
    ...(await purgeEngineRecords(
      database,
      {
        postsBefore: before(retention.postDays),
        securityEventsBefore: before(retention.auditDays),
        decisionsBefore: before(Math.max(retention.queueDays, retention.deadLetterDays)),
      },
      options,
    )),
    ...(await purgeInbox(
      database,
      { postsBefore: before(retention.postDays), messagesBefore: before(retention.messageDays) },
      options,
    )),
    ...(await purgeChannels(database, { deliveriesBefore: before(retention.deliveryDays) }, options)),
    ...(await purgeAuditLog(database, { before: before(retention.auditDays) }, options)),
    ...(await purgeSourceActivity(database, before(ACTIVITY_RETENTION_DAYS))),
  };
}

export interface RetentionJob {
  /** Runs a round now (tests, operators); rounds never overlap. */
  runOnce(): Promise<PurgeReport>;
  stop(): Promise<void>;
}

export function startRetentionJob(deps: {
  database: Database;
  retention: Retention;
  log: Logger;
  now?: () => Date;
}): RetentionJob {
  const { database, retention, log } = deps;
  const now = deps.now ?? (() => new Date());
  let current: Promise<PurgeReport> | undefined;
  let stopped = false;

  const runOnce = (): Promise<PurgeReport> => {
    current ??= (async () => {
      try {
        const report = await purgeExpired(database, retention, now());
        const total = Object.values(report).reduce((sum, count) => sum + count, 0);
        if (total > 0) log.info({ deleted: report }, 'retention: expired rows deleted');
        return report;
      } finally {
        current = undefined;
      }
    })();
    return current;
  };

  let timer: NodeJS.Timeout | undefined;
  if (retention.intervalMinutes > 0) {
    const round = () => {
      runOnce()
        .catch((error: unknown) =>
          log.warn(
            { reason: error instanceof Error ? error.message : String(error) },
            'retention round failed; trying again next round',
          ),
        )
        .finally(() => {
          if (!stopped) {
            timer = setTimeout(round, retention.intervalMinutes * 60_000);
            timer.unref();
          }
        });
    };
    // The first round a minute after start: a starting service has more urgent things to do.
    timer = setTimeout(round, Math.min(60_000, retention.intervalMinutes * 60_000));
    timer.unref();
  }

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current?.catch(() => undefined);
    },
  };
}
