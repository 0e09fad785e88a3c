// Source activity: small per-hour counters of what each source system sends and what comes of it, kept by
// the components that see the events (the ingest: received, ignored; the engine: messages by kind, no
// message, producer failures, dead letters), and the list of unregistered systems seen. Read by /admin and
// /api/admin/source-activity without touching the big notification tables. Counting happens after the
// event's own transaction commits and never fails it: a crash in between may lose a count, never an event.
import { sql } from 'drizzle-orm';
import { MESSAGE_KINDS } from '../inbox/index.js';
import type { Environment } from '../config.js';
import { rows, type Database } from '../db/index.js';
import type { Logger } from '../logging.js';

/** The counters of an hour, in the API's words (column names are the snake_case of these). */
export const ACTIVITY_COUNTERS = [
  'received',
  'ignored',
  ...MESSAGE_KINDS,
  'no_message',
  'producer_failures',
  'dead_letters',
] as const;
export type ActivityCounter = (typeof ACTIVITY_COUNTERS)[number];
export const MESSAGE_COUNTERS = MESSAGE_KINDS;

export interface IntakeSighting {
  sourceSystem: string;
  logicalAddress: string;
  /** received: accepted for processing; ignored: not registered here, or not of the booking domain. */
  outcome: 'received' | 'ignored';
  /** A booking-domain notification from a system not registered in this environment. */
  unregistered: boolean;
}

export type EngineEvent = { sourceSystem: string; counter: Exclude<ActivityCounter, 'received' | 'ignored'> };

export type Counts = Record<ActivityCounter, number>;

export interface SourceStatistics {
  environment: Environment;
  sourceSystem: string;
  last24h: Counts;
  last7d: Counts;
  /** The last notification received or ignored within the 7 days; null: none. */
  lastSeenAt: string | null;
}

export interface UnregisteredSystem {
  environment: Environment;
  sourceSystem: string;
  notifications: number;
  firstSeenAt: string;
  lastSeenAt: string;
  /** The care units (logical addresses) it sent for, most recent first (at most MAX_LISTED_UNITS). */
  careUnits: string[];
  careUnitCount: number;
}

export const MAX_LISTED_UNITS = 20;
/** Care units kept per unregistered system (a bound on the table, whatever EI forwards). */
export const MAX_UNITS_PER_SYSTEM = 1000;
/** Counters are kept this long; the page shows at most 7 days. */
export const ACTIVITY_RETENTION_DAYS = 35;

export interface SourceActivity {
  /** After an intake committed: one statement for the whole call. */
  recordIntake(sightings: readonly IntakeSighting[]): Promise<void>;
  /** After an engine batch committed. */
  recordEngine(events: readonly EngineEvent[]): Promise<void>;
  statistics(environment?: Environment): Promise<SourceStatistics[]>;
  /** Unregistered systems seen, leaving out those registered now (`registered`: environment -> upper-case HSA-ids). */
  unregistered(
    registered: ReadonlyMap<Environment, ReadonlySet<string>>,
    environment?: Environment,
  ): Promise<UnregisteredSystem[]>;
}

/**
 * Deletes hourly counters and unregistered sightings not seen since `before` (default: ACTIVITY_RETENTION_DAYS ago).
 */
export async function purgeSourceActivity(
  database: Database,
  before: Date = new Date(Date.now() - ACTIVITY_RETENTION_DAYS * 86_400_000),
): Promise<{ source_activity_hourly: number; unregistered_sighting: number }> {
  const at = before.toISOString();
  // Small tables (per hour and system; per system and care unit): one statement each.
  const hourly = await rows<{ n: number }>(
    database.orm,
    sql`with d as (delete from source_activity_hourly where hour < ${at}::timestamptz returning 1) select count(*)::int as n from d`,
  );
  const sightings = await rows<{ n: number }>(
    database.orm,
    sql`with d as (delete from unregistered_sighting where last_seen_at < ${at}::timestamptz returning 1) select count(*)::int as n from d`,
  );
  return { source_activity_hourly: Number(hourly[0]?.n ?? 0), unregistered_sighting: Number(sightings[0]?.n ?? 0) };
}

const column = (counter: ActivityCounter) => counter; // the columns are named as the counters

function zero(): Counts {
  return Object.fromEntries(ACTIVITY_COUNTERS.map((counter) => [counter, 0])) as Counts;
}

// HSA-ids are not case-sensitive; counters and sightings are kept under the upper-case form (as registered).
const key = (sourceSystem: string) => sourceSystem.slice(0, 64).toUpperCase();

export function createSourceActivity(database: Database, environment: Environment, log: Logger): SourceActivity {
  async function bump(perSystem: Map<string, Partial<Counts>>, seen: boolean): Promise<void> {
    if (perSystem.size === 0) return;
    const items = [...perSystem.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([sourceSystem, counts]) => ({ source_system: sourceSystem, ...zero(), ...counts }));
    const columns = sql.raw(ACTIVITY_COUNTERS.map(column).join(', '));
    const types = sql.raw(ACTIVITY_COUNTERS.map((counter) => `${column(counter)} bigint`).join(', '));
    const updates = sql.raw(
      ACTIVITY_COUNTERS.map(
        (counter) => `${column(counter)} = h.${column(counter)} + excluded.${column(counter)}`,
      ).join(', '),
    );
    await database.orm.execute(sql`
      insert into source_activity_hourly as h (environment, source_system, hour, ${columns}, last_seen_at)
      select ${environment}, t.source_system, date_trunc('hour', now()), ${columns}, ${seen ? sql`now()` : sql`null::timestamptz`}
      from jsonb_to_recordset(${JSON.stringify(items)}::jsonb) as t(source_system text, ${types})
      order by t.source_system
      on conflict (environment, source_system, hour) do update set ${updates},
        last_seen_at = greatest(h.last_seen_at, excluded.last_seen_at)`);
  }

  function quietly(what: string, work: Promise<void>): Promise<void> {
    return work.catch((error: unknown) => {
      log.warn(
        { reason: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : 'unknown' },
        `source activity: ${what} not counted`,
      );
    });
  }

  return {
    recordIntake(sightings) {
      const perSystem = new Map<string, Partial<Counts>>();
      const units = new Map<string, { source_system: string; logical_address: string; n: number }>();
      for (const sighting of sightings) {
        const system = key(sighting.sourceSystem);
        const counts = perSystem.get(system) ?? {};
        counts[sighting.outcome] = (counts[sighting.outcome] ?? 0) + 1;
        perSystem.set(system, counts);
        if (sighting.unregistered) {
          const address = sighting.logicalAddress.slice(0, 64);
          const unitKey = `${system}\u001f${address}`;
          const unit = units.get(unitKey) ?? { source_system: system, logical_address: address, n: 0 };
          unit.n++;
          units.set(unitKey, unit);
        }
      }
      return quietly(
        'intake',
        (async () => {
          await bump(perSystem, true);
          if (units.size === 0) return;
          const items = [...units.values()].sort((a, b) =>
            a.source_system + a.logical_address < b.source_system + b.logical_address ? -1 : 1,
          );
          await database.orm.execute(sql`
            insert into unregistered_sighting as u (environment, source_system, logical_address, notifications, first_seen_at, last_seen_at)
            select ${environment}, t.source_system, t.logical_address, t.n, now(), now()
            from jsonb_to_recordset(${JSON.stringify(items)}::jsonb) as t(source_system text, logical_address text, n bigint)
            -- Bounded: care units of a system beyond MAX_UNITS_PER_SYSTEM are not kept (its 'ignored' counter still counts them).
            where exists (select 1 from unregistered_sighting k where k.environment = ${environment} and k.source_system = t.source_system and k.logical_address = t.logical_address)
               or (select count(*) from unregistered_sighting k where k.environment = ${environment} and k.source_system = t.source_system) < ${MAX_UNITS_PER_SYSTEM}
            order by t.source_system, t.logical_address
            on conflict (environment, source_system, logical_address) do update
              set notifications = u.notifications + excluded.notifications, last_seen_at = excluded.last_seen_at`);
        })(),
      );
    },

    recordEngine(events) {
      const perSystem = new Map<string, Partial<Counts>>();
      for (const event of events) {
        const system = key(event.sourceSystem);
        const counts = perSystem.get(system) ?? {};
        counts[event.counter] = (counts[event.counter] ?? 0) + 1;
        perSystem.set(system, counts);
      }
      return quietly('engine', bump(perSystem, false));
    },

    async statistics(only) {
      const sums = sql.raw(
        ACTIVITY_COUNTERS.map(
          (counter) =>
            `coalesce(sum(${column(counter)}) filter (where hour >= date_trunc('hour', now()) - interval '23 hours'), 0)::bigint as "d_${counter}", ` +
            `coalesce(sum(${column(counter)}), 0)::bigint as "w_${counter}"`,
        ).join(', '),
      );
      const found = await rows<Record<string, unknown>>(
        database.orm,
        sql`select environment, source_system, ${sums}, max(last_seen_at) as last_seen_at
            from source_activity_hourly
            where hour >= date_trunc('hour', now()) - interval '167 hours' ${only ? sql`and environment = ${only}` : sql``}
            group by environment, source_system
            order by environment, source_system`,
      );
      return found.map((row) => {
        const last24h = zero();
        const last7d = zero();
        for (const counter of ACTIVITY_COUNTERS) {
          last24h[counter] = Number(row[`d_${counter}`] ?? 0);
          last7d[counter] = Number(row[`w_${counter}`] ?? 0);
        }
        const last = row.last_seen_at as Date | string | null;
        return {
          environment: row.environment as Environment,
          sourceSystem: String(row.source_system),
          last24h,
          last7d,
          lastSeenAt: last ? new Date(last).toISOString() : null,
        };
      });
    },

    async unregistered(registered, only) {
      const found = await rows<{
        environment: Environment;
        source_system: string;
        notifications: string | number;
        first_seen_at: Date | string;
        last_seen_at: Date | string;
        units: string[] | string;
        unit_count: number;
      }>(
        database.orm,
        sql`select environment, source_system, sum(notifications)::bigint as notifications, min(first_seen_at) as first_seen_at,
                   max(last_seen_at) as last_seen_at, count(*)::int as unit_count,
                   (array_agg(logical_address order by last_seen_at desc, logical_address))[1:${MAX_LISTED_UNITS}] as units
            from unregistered_sighting ${only ? sql`where environment = ${only}` : sql``}
            group by environment, source_system
            order by max(last_seen_at) desc
            limit 1000`,
      );
      return found
        .filter((row) => !registered.get(row.environment)?.has(row.source_system))
        .map((row) => ({
          environment: row.environment,
          sourceSystem: row.source_system,
          notifications: Number(row.notifications),
          firstSeenAt: new Date(row.first_seen_at).toISOString(),
          lastSeenAt: new Date(row.last_seen_at).toISOString(),
          careUnits: typeof row.units === 'string' ? parseArray(row.units) : row.units,
          careUnitCount: Number(row.unit_count),
        }));
    },
  };
}

/** A PostgreSQL text[] literal as some drivers hand it over ("{a,b}"); HSA-ids hold no commas or quotes. */
function parseArray(text: string): string[] {
  const inner = text.replace(/^\{/, '').replace(/\}$/, '');
  return inner === '' ? [] : inner.split(',').map((item) => item.replace(/^"(.*)"$/, '$1'));
}
