// Held messages never wait silently: every minute the units the flood guard holds are looked at; one
// waiting longer than FLOOD_GUARD_ALERT_HOURS gets a warning log line (once an hour) and counts in the
// `ei_flood_guard_overdue_units` gauge; one waiting longer than FLOOD_GUARD_EXPIRE_DAYS is dropped by the
// service (state kept, audited as system:flood-guard): by then its "new booking" messages are stale news,
// the bookings are in the citizens' upcoming lists, and the unit's later changes make messages as usual.
import type { Environment } from '../config.js';
import type { Logger } from '../logging.js';
import type { CareUnitAdministration } from './care-units.js';
import type { SourceSystemDirectory } from './directory.js';
import { judgeWaiting } from './flood-guard.js';

export interface HoldWatch {
  /** One look now; resolves to the units alerted on and expired. */
  check(now?: Date): Promise<{ overdue: string[]; expired: string[] }>;
  /** Units waiting longer than the alert limit (for the gauge). */
  overdue(now?: Date): string[];
  stop(): void;
}

export function startHoldWatch(deps: {
  directory: SourceSystemDirectory;
  careUnits: CareUnitAdministration;
  environment: Environment;
  alertMs: number;
  expireMs: number;
  log: Logger;
  intervalMs?: number;
}): HoldWatch {
  const { directory, log } = deps;
  const lastAlert = new Map<string, number>();
  const limits = { alertMs: deps.alertMs, expireMs: deps.expireMs };

  const overdue = (now = new Date()): string[] =>
    [...directory.holds()].filter(([, hold]) => judgeWaiting(hold, now, limits) !== 'none').map(([address]) => address);

  async function check(now = new Date()): Promise<{ overdue: string[]; expired: string[] }> {
    const alerted: string[] = [];
    const expired: string[] = [];
    for (const [address, hold] of directory.holds()) {
      const verdict = judgeWaiting(hold, now, limits);
      if (verdict === 'expire') {
        if (await deps.careUnits.expire(deps.environment, address)) {
          expired.push(address);
          log.warn(
            {
              logicalAddress: address,
              environment: deps.environment,
              heldSince: hold.startedAt?.toISOString(),
              notifications: hold.heldPosts,
            },
            'flood guard: nobody released or dropped the held messages in time; they were dropped (post state kept)',
          );
        }
      } else if (verdict === 'alert') {
        alerted.push(address);
        if (now.getTime() - (lastAlert.get(address) ?? 0) >= 60 * 60_000) {
          lastAlert.set(address, now.getTime());
          log.warn(
            {
              logicalAddress: address,
              environment: deps.environment,
              heldSince: hold.startedAt?.toISOString(),
              notifications: hold.heldPosts,
            },
            'flood guard: held messages are waiting for an administrator (release or drop them in /admin)',
          );
        }
      }
    }
    return { overdue: alerted, expired };
  }

  const timer = setInterval(() => {
    check().catch((error: unknown) =>
      log.warn(
        { reason: error instanceof Error ? error.message.split('\n')[0] : 'unknown' },
        'flood guard: hold check failed; trying again',
      ),
    );
  }, deps.intervalMs ?? 60_000);
  timer.unref();
  return { check, overdue, stop: () => clearInterval(timer) };
}
