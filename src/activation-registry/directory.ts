// The ingest's view of the registry: which source systems are live in this environment, and how.
// Kept in memory (one lookup per transaction must cost nothing) and reloaded when a change is
// announced on the `source_system_changed` channel (PostgreSQL LISTEN/NOTIFY, so every process of
// the same database follows within moments), when this process changes it, and every 30 s as a backstop.
import { and, eq, isNull } from 'drizzle-orm';
import type { Environment } from '../config.js';
import type { Database } from '../db/database.js';
import { sourceSystems } from './schema.js';

export type SourceSystemMode = 'active' | 'silent';

/**
 * The mode stamped on each queued notification when EI delivers it (the engine uses only the stamp, so a
 * bulk load delivered in silent mode stays silent when it is processed after the switch to active). One
 * constant list: a further value (e.g. a flood guard's) is added here and in the column's CHECK.
 */
export const DELIVERY_MODES = ['active', 'silent'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

export interface SourceSystemDirectory {
  /** The mode of a live registration of `hsaId` in this environment; undefined: not activated. */
  modeOf(hsaId: string): SourceSystemMode | undefined;
  /**
   * The mode a transaction from `sourceSystem` for care unit `logicalAddress` is delivered in, now;
   * undefined: the source system is not registered here, the transaction is ignored.
   */
  deliveryMode(sourceSystem: string, logicalAddress: string): DeliveryMode | undefined;
  /** Reloads now (after a change made by this process). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export const SOURCE_SYSTEM_CHANNEL = 'source_system_changed';
const BACKSTOP_RELOAD_MS = 30_000;

export async function openSourceSystemDirectory(
  database: Database,
  environment: Environment,
): Promise<SourceSystemDirectory> {
  let modes = new Map<string, SourceSystemMode>();
  let loading: Promise<void> | undefined;
  let again = false;

  async function load(): Promise<void> {
    const live = await database.orm
      .select({ hsaId: sourceSystems.hsaId, mode: sourceSystems.mode })
      .from(sourceSystems)
      .where(and(eq(sourceSystems.environment, environment), isNull(sourceSystems.deactivatedAt)));
    modes = new Map(live.map((row) => [row.hsaId, row.mode as SourceSystemMode]));
  }

  // Reloads are serialised; a change announced during a reload triggers one more.
  function refresh(): Promise<void> {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  await load();
  const unlisten = await database.listen(SOURCE_SYSTEM_CHANNEL, () => {
    refresh().catch(() => {
      // The backstop reload tries again; ingest keeps the last known registry meanwhile.
    });
  });
  const timer = setInterval(() => refresh().catch(() => {}), BACKSTOP_RELOAD_MS);
  timer.unref();

  return {
    modeOf: (hsaId) => modes.get(hsaId),
    // Per source system today; the care unit is part of the interface for per-unit rules.
    deliveryMode: (sourceSystem, _logicalAddress) => modes.get(sourceSystem),
    refresh,
    async close() {
      clearInterval(timer);
      await unlisten().catch(() => {});
    },
  };
}
