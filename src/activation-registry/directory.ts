// The ingest's view of the registry: which source systems are live in this environment, and how; which
// care units are loading silently; which are held by the flood guard.
// Kept in memory (one lookup per transaction must cost nothing) and reloaded when a change is
// announced on the `source_system_changed` channel (PostgreSQL LISTEN/NOTIFY, so every process of
// the same database follows within moments), when this process changes it, and every 30 s as a backstop.
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Environment } from '../config.js';
import type { Database } from '../db/index.js';
import { HOLD_STATUSES, type HoldStatus } from './flood-guard.js';
import { careUnitGuards, careUnitLoads, SOURCE_SYSTEM_MODES, sourceSystems, type SourceSystemMode } from './schema.js';

export type { SourceSystemMode } from './schema.js';

export { DELIVERY_MODES, type DeliveryMode } from './schema.js';
import type { DeliveryMode } from './schema.js';

export interface UnitHold {
  status: HoldStatus;
  startedAt: Date | undefined;
  heldPosts: number;
}

export interface SourceSystemDirectory {
  /** The mode of a live registration of `hsaId` in this environment; undefined: not activated. */
  modeOf(hsaId: string): SourceSystemMode | undefined;
  /**
   * The mode of a notification from `sourceSystem` about care unit `logicalAddress` delivered at `at`
   * (default now); undefined: the source system is not activated. The flood guard's counting may still
   * turn an `active` one into `held` (guard-store.ts).
   */
  deliveryMode(sourceSystem: string, logicalAddress: string, at?: Date): DeliveryMode | undefined;
  /** Whether the care unit has a silent loading period covering `at` (default now). */
  isLoading(logicalAddress: string, at?: Date): boolean;
  /** The flood guard's last hold of a care unit, if it ever had one. */
  holdOf(logicalAddress: string): UnitHold | undefined;
  /** Every care unit with a hold record. */
  holds(): ReadonlyMap<string, UnitHold>;
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
  let loads = new Map<string, { startsAt: number; endsAt: number }[]>();
  let holds = new Map<string, UnitHold>();
  let loading: Promise<void> | undefined;
  let again = false;

  async function load(): Promise<void> {
    const live = await database.orm
      .select({ hsaId: sourceSystems.hsaId, mode: sourceSystems.mode })
      .from(sourceSystems)
      .where(and(eq(sourceSystems.environment, environment), isNull(sourceSystems.deactivatedAt)));
    // Loading periods that have not ended yet (effective end: ended early, or as planned).
    const periods = await database.orm
      .select({
        logicalAddress: careUnitLoads.logicalAddress,
        startsAt: careUnitLoads.startsAt,
        endsAt: careUnitLoads.endsAt,
        endedAt: careUnitLoads.endedAt,
      })
      .from(careUnitLoads)
      .where(
        and(
          eq(careUnitLoads.environment, environment),
          sql`coalesce(least(${careUnitLoads.endedAt}, ${careUnitLoads.endsAt}), ${careUnitLoads.endsAt}) > now()`,
        ),
      );
    const guarded = await database.orm
      .select({
        logicalAddress: careUnitGuards.logicalAddress,
        status: careUnitGuards.holdStatus,
        startedAt: careUnitGuards.holdStartedAt,
        heldPosts: careUnitGuards.heldPosts,
      })
      .from(careUnitGuards)
      .where(and(eq(careUnitGuards.environment, environment), isNotNull(careUnitGuards.holdStatus)));
    modes = new Map(live.map((row) => [row.hsaId, row.mode as SourceSystemMode]));
    const nextLoads = new Map<string, { startsAt: number; endsAt: number }[]>();
    for (const period of periods) {
      const end = Math.min(period.endsAt.getTime(), period.endedAt?.getTime() ?? Infinity);
      nextLoads.set(period.logicalAddress, [
        ...(nextLoads.get(period.logicalAddress) ?? []),
        { startsAt: period.startsAt.getTime(), endsAt: end },
      ]);
    }
    loads = nextLoads;
    holds = new Map(
      guarded
        .filter((row) => (HOLD_STATUSES as readonly (string | null)[]).includes(row.status))
        .map((row) => [
          row.logicalAddress,
          { status: row.status as HoldStatus, startedAt: row.startedAt ?? undefined, heldPosts: row.heldPosts },
        ]),
    );
  }

  const isLoading = (logicalAddress: string, at: Date = new Date()): boolean =>
    loads.get(logicalAddress)?.some((period) => period.startsAt <= at.getTime() && at.getTime() < period.endsAt) ??
    false;

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
    // HSA-ids are stored upper-case and compared without regard to case (EI forwards what the system sent).
    modeOf: (hsaId) => modes.get(hsaId.toUpperCase()),
    deliveryMode(sourceSystem, logicalAddress, at) {
      const mode = modes.get(sourceSystem.toUpperCase());
      if (mode === undefined) return undefined;
      if (mode === 'silent' || isLoading(logicalAddress, at)) return 'silent';
      return holds.get(logicalAddress)?.status === 'holding' ? 'held' : 'active';
    },
    isLoading,
    holdOf: (logicalAddress) => holds.get(logicalAddress),
    holds: () => holds,
    refresh,
    async close() {
      clearInterval(timer);
      await unlisten().catch(() => {});
    },
  };
}
