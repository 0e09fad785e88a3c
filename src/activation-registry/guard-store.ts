// The flood guard at the ingest: counts what each care unit sends and applies judgeUnit (flood-guard.ts)
// to the database row of the units that need it. Cost on the hot path: a call whose care units are all
// known, not watched and seen by this process within the last hour costs no statement at all (an
// in-memory map); otherwise one short transaction on the guard's primary key (insert the new units,
// lock and read the call's units, write them back), i.e. while a unit is new, watched or held. The
// database row, not the memory, is the count, so several ingest processes count together.
import { sql } from 'drizzle-orm';
import type { Environment } from '../config.js';
import { rows, type Database } from '../db/index.js';
import type { Logger } from '../logging.js';
import { holdPendingOfUnits } from '../queue/index.js';
import { SOURCE_SYSTEM_CHANNEL } from './directory.js';
import { judgeUnit, type GuardSettings, type HoldStatus, type Observation, type UnitRecord } from './flood-guard.js';
import { auditLog } from './schema.js';

export const GUARD_ACTOR = 'system:flood-guard';
/** last_seen_at is kept to this resolution (dormancy is counted in days). */
const SEEN_RESOLUTION_MS = 60 * 60_000;

export interface UnitTraffic {
  newPosts: number;
  notifications: number;
  announced: boolean;
}

/** A call's accepted transactions per care unit: new posts, all notifications, announced or not. */
export function unitTraffic(
  transactions: readonly { mode: string; deleteFlag: boolean; engagement: { logicalAddress: string } }[],
): Map<string, UnitTraffic> {
  const traffic = new Map<string, UnitTraffic>();
  for (const { mode, deleteFlag, engagement } of transactions) {
    let unit = traffic.get(engagement.logicalAddress);
    if (!unit) traffic.set(engagement.logicalAddress, (unit = { newPosts: 0, notifications: 0, announced: true }));
    unit.notifications++;
    if (!deleteFlag) unit.newPosts++;
    // Announced only when everything of the unit in the call is silent (a silent system or loading period).
    if (mode !== 'silent') unit.announced = false;
  }
  return traffic;
}

export interface FloodGuard {
  /**
   * Records what one call brought per care unit and answers the units whose notifications are held.
   * Throws when the database does not answer (the call is then refused with soap:Server).
   */
  observe(traffic: ReadonlyMap<string, UnitTraffic>, at?: Date): Promise<Set<string>>;
  readonly settings: GuardSettings;
}

interface GuardRow {
  logical_address: string;
  first_seen_at: Date | string;
  last_seen_at: Date | string;
  watch_until: Date | string | null;
  window_started_at: Date | string | null;
  window_posts: number;
  hold_status: string | null;
  hold_started_at: Date | string | null;
  held_posts: number;
  last_held_at: Date | string | null;
}

const dateOf = (value: Date | string | null): Date | undefined => (value === null ? undefined : new Date(value));

function toRecord(row: GuardRow): UnitRecord {
  const record: UnitRecord = {
    firstSeenAt: new Date(row.first_seen_at),
    lastSeenAt: new Date(row.last_seen_at),
    windowPosts: Number(row.window_posts),
    heldPosts: Number(row.held_posts),
  };
  const optional = {
    watchUntil: dateOf(row.watch_until),
    windowStartedAt: dateOf(row.window_started_at),
    holdStatus: (row.hold_status ?? undefined) as HoldStatus | undefined,
    holdStartedAt: dateOf(row.hold_started_at),
    lastHeldAt: dateOf(row.last_held_at),
  };
  for (const [key, value] of Object.entries(optional))
    if (value !== undefined) (record as unknown as Record<string, unknown>)[key] = value;
  return record;
}

export interface FloodGuardOptions {
  database: Database;
  environment: Environment;
  settings: GuardSettings;
  log: Logger;
  /** After a hold started (the local directory's refresh; other processes follow the NOTIFY). */
  afterTrip?: () => Promise<void>;
  /** Told of each hold that starts (metrics). */
  onTrip?: (logicalAddress: string) => void;
}

export function createFloodGuard(options: FloodGuardOptions): FloodGuard {
  const { database, environment, settings, log } = options;
  /** Units this process knows need no statement until `recheckAt` (known, not watched, not held). */
  const quiet = new Map<string, number>();

  async function observe(traffic: ReadonlyMap<string, UnitTraffic>, at: Date = new Date()): Promise<Set<string>> {
    const held = new Set<string>();
    const due = [...traffic.keys()].filter((address) => (quiet.get(address) ?? 0) <= at.getTime()).sort();
    if (due.length === 0) return held;
    const addresses = JSON.stringify(due);
    const tripped: { address: string; because: string; record: UnitRecord }[] = [];
    let heldEarlier = new Map<string, number>();
    await database.orm.transaction(async (tx) => {
      // A unit seen for the first time is created as new (its watch starts with this call); concurrent
      // calls for it meet at the row lock below.
      await tx.execute(sql`
        insert into care_unit_guard (environment, logical_address, first_seen_at, last_seen_at)
        select ${environment}, a.address, ${at.toISOString()}::timestamptz, 'epoch'::timestamptz
        from jsonb_array_elements_text(${addresses}::jsonb) as a(address)
        order by a.address
        on conflict do nothing`);
      const found = await rows<GuardRow>(
        tx,
        sql`select * from care_unit_guard
            where environment = ${environment} and logical_address in (select jsonb_array_elements_text(${addresses}::jsonb))
            order by logical_address for update`,
      );
      const updates = found.map((row) => {
        const stored = toRecord(row);
        // 'epoch' marks a row this transaction (or a concurrent one) just created: a unit never seen.
        const previous = stored.lastSeenAt.getTime() === 0 ? undefined : stored;
        const unit = traffic.get(row.logical_address)!;
        const observation: Observation = { at, ...unit };
        const decision = judgeUnit(previous, observation, settings);
        const record = previous ? decision.record : { ...decision.record, firstSeenAt: stored.firstSeenAt };
        if (decision.held) held.add(row.logical_address);
        if (decision.tripped) tripped.push({ address: row.logical_address, because: decision.because, record });
        const watched = record.watchUntil !== undefined && record.watchUntil.getTime() > at.getTime();
        if (!watched && record.holdStatus !== 'holding')
          quiet.set(row.logical_address, at.getTime() + SEEN_RESOLUTION_MS);
        else quiet.delete(row.logical_address);
        return {
          logical_address: row.logical_address,
          first_seen_at: record.firstSeenAt.toISOString(),
          last_seen_at: record.lastSeenAt.toISOString(),
          watch_until: record.watchUntil?.toISOString() ?? null,
          window_started_at: record.windowStartedAt?.toISOString() ?? null,
          window_posts: record.windowPosts,
          hold_status: record.holdStatus ?? null,
          hold_started_at: record.holdStartedAt?.toISOString() ?? null,
          held_posts: record.heldPosts,
          last_held_at: record.lastHeldAt?.toISOString() ?? null,
          tripped: decision.tripped,
        };
      });
      await tx.execute(sql`
        update care_unit_guard g set first_seen_at = u.first_seen_at, last_seen_at = u.last_seen_at, watch_until = u.watch_until,
          window_started_at = u.window_started_at, window_posts = u.window_posts, hold_status = u.hold_status,
          hold_started_at = u.hold_started_at, held_posts = u.held_posts, last_held_at = u.last_held_at,
          hold_decided_at = case when u.tripped then null else g.hold_decided_at end,
          hold_decided_by = case when u.tripped then null else g.hold_decided_by end
        from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as u(logical_address text, first_seen_at timestamptz,
          last_seen_at timestamptz, watch_until timestamptz, window_started_at timestamptz, window_posts int, hold_status text,
          hold_started_at timestamptz, held_posts int, last_held_at timestamptz, tripped boolean)
        where g.environment = ${environment} and g.logical_address = u.logical_address`);
      for (const trip of tripped) {
        await tx.insert(auditLog).values({
          actor: GUARD_ACTOR,
          action: 'care_unit.hold',
          entity: 'care_unit',
          entityId: `${environment}:${trip.address}`,
          before: null,
          after: {
            environment,
            logicalAddress: trip.address,
            windowPosts: trip.record.windowPosts,
            threshold: settings.threshold,
          },
        });
      }
      if (tripped.length > 0) {
        // What the unit sent earlier in the window and is still queued is held with the rest.
        heldEarlier = await holdPendingOfUnits(
          tx,
          tripped.map((trip) => ({ logicalAddress: trip.address, since: trip.record.windowStartedAt ?? at })),
        );
        if (heldEarlier.size > 0) {
          await tx.execute(sql`
            update care_unit_guard g set held_posts = g.held_posts + e.n
            from jsonb_to_recordset(${JSON.stringify([...heldEarlier].map(([address, n]) => ({ address, n })))}::jsonb) as e(address text, n int)
            where g.environment = ${environment} and g.logical_address = e.address`);
        }
        await tx.execute(sql`select pg_notify(${SOURCE_SYSTEM_CHANNEL}, ${JSON.stringify({ guard: environment })})`);
      }
    });
    for (const trip of tripped) {
      log.warn(
        {
          logicalAddress: trip.address,
          environment,
          windowPosts: trip.record.windowPosts,
          threshold: settings.threshold,
          heldEarlier: heldEarlier.get(trip.address) ?? 0,
        },
        'flood guard: unannounced burst from a care unit; its messages are held until an ' +
          'administrator releases or drops them (/admin)',
      );
      options.onTrip?.(trip.address);
    }
    if (tripped.length > 0) await options.afterTrip?.().catch(() => {});
    return held;
  }

  return { observe, settings };
}
