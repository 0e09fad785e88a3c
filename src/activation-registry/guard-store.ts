// The flood guard at the ingest: counts what each care unit sends and applies judgeUnit (flood-guard.ts)
// to the database row of the units that need it. Cost on the hot path: a call whose care units are all
// known, not watched and seen by this process within the last hour costs no statement at all (an
// in-memory map); otherwise one short transaction on the guard's primary key (insert the new units,
// lock and read the call's units, write them back), i.e. while a unit is new, watched or held. The
// database row, not the memory, is the count, so several ingest processes count together.
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Environment } from '../config.js';
import { columnNames, type Database } from '../db/index.js';
import type { Logger } from '../logging.js';
import { holdPendingOfUnits } from '../queue/index.js';
import { SOURCE_SYSTEM_CHANNEL } from './directory.js';
import { judgeUnit, type GuardSettings, type HoldStatus, type Observation, type UnitRecord } from './flood-guard.js';
import { auditLog, careUnitGuards as guards } from './schema.js';

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

type GuardRow = typeof guards.$inferSelect;
// The set-based statements below name the table's columns through its schema.
const g = columnNames(guards);

function toRecord(row: GuardRow): UnitRecord {
  const record: UnitRecord = {
    firstSeenAt: row.firstSeenAt,
    lastSeenAt: row.lastSeenAt,
    windowPosts: row.windowPosts,
    heldPosts: row.heldPosts,
  };
  const optional = {
    watchUntil: row.watchUntil ?? undefined,
    windowStartedAt: row.windowStartedAt ?? undefined,
    holdStatus: (row.holdStatus ?? undefined) as HoldStatus | undefined,
    holdStartedAt: row.holdStartedAt ?? undefined,
    lastHeldAt: row.lastHeldAt ?? undefined,
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
        insert into ${guards} (${g.environment}, ${g.logicalAddress}, ${g.firstSeenAt}, ${g.lastSeenAt})
        select ${environment}, a.address, ${at.toISOString()}::timestamptz, 'epoch'::timestamptz
        from jsonb_array_elements_text(${addresses}::jsonb) as a(address)
        order by a.address
        on conflict do nothing`);
      const found = await tx
        .select()
        .from(guards)
        .where(
          and(
            eq(guards.environment, environment),
            sql`${guards.logicalAddress} in (select jsonb_array_elements_text(${addresses}::jsonb))`,
          ),
        )
        .orderBy(asc(guards.logicalAddress))
        .for('update');
      const updates = found.map((row) => {
        const stored = toRecord(row);
        // 'epoch' marks a row this transaction (or a concurrent one) just created: a unit never seen.
        const previous = stored.lastSeenAt.getTime() === 0 ? undefined : stored;
        const unit = traffic.get(row.logicalAddress)!;
        const observation: Observation = { at, ...unit };
        const decision = judgeUnit(previous, observation, settings);
        const record = previous ? decision.record : { ...decision.record, firstSeenAt: stored.firstSeenAt };
        if (decision.held) held.add(row.logicalAddress);
        if (decision.tripped) tripped.push({ address: row.logicalAddress, because: decision.because, record });
        const watched = record.watchUntil !== undefined && record.watchUntil.getTime() > at.getTime();
        if (!watched && record.holdStatus !== 'holding')
          quiet.set(row.logicalAddress, at.getTime() + SEEN_RESOLUTION_MS);
        else quiet.delete(row.logicalAddress);
        return {
          logical_address: row.logicalAddress,
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
        update ${guards} g set ${g.firstSeenAt} = u.first_seen_at, ${g.lastSeenAt} = u.last_seen_at,
          ${g.watchUntil} = u.watch_until, ${g.windowStartedAt} = u.window_started_at,
          ${g.windowPosts} = u.window_posts, ${g.holdStatus} = u.hold_status,
          ${g.holdStartedAt} = u.hold_started_at, ${g.heldPosts} = u.held_posts, ${g.lastHeldAt} = u.last_held_at,
          ${g.holdDecidedAt} = case when u.tripped then null else g.${g.holdDecidedAt} end,
          ${g.holdDecidedBy} = case when u.tripped then null else g.${g.holdDecidedBy} end
        from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as u(logical_address text, first_seen_at timestamptz,
          last_seen_at timestamptz, watch_until timestamptz, window_started_at timestamptz, window_posts int,
          hold_status text, hold_started_at timestamptz, held_posts int, last_held_at timestamptz, tripped boolean)
        where g.${g.environment} = ${environment} and g.${g.logicalAddress} = u.logical_address`);
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
          const earlier = JSON.stringify([...heldEarlier].map(([address, n]) => ({ address, n })));
          await tx.execute(sql`
            update ${guards} g set ${g.heldPosts} = g.${g.heldPosts} + e.n
            from jsonb_to_recordset(${earlier}::jsonb) as e(address text, n int)
            where g.${g.environment} = ${environment} and g.${g.logicalAddress} = e.address`);
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
