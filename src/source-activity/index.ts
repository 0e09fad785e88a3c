// Source activity: small per-hour counters of what each source system sends and what comes of it, kept by
// the components that see the events (the ingest: received, ignored; the engine: messages by kind, no
// message, producer failures, dead letters), and the list of unregistered systems seen. Read by /admin and
// /api/admin/source-activity without touching the big notification tables. Counting happens after the
// event's own transaction commits, in memory, and is written about once a second off the answer path
// (createSourceActivity says what that keeps): a crash may lose the last second's counts, never an event.
import { sql } from 'drizzle-orm';
import { MESSAGE_KINDS } from '../inbox/index.js';
import type { Environment } from '../config.js';
import { columnNames, decodeCount, decodeDate, decodeJson, rows, type Database } from '../db/index.js';
import type { Logger } from '../logging.js';
import { sourceActivityHourly, unregisteredSightings } from './schema.js';

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
  /** After an intake committed: counted in memory at once, written with the next flush (no statement here). */
  recordIntake(sightings: readonly IntakeSighting[]): void;
  /** After an engine batch committed: as recordIntake. */
  recordEngine(events: readonly EngineEvent[]): void;
  /** Writes the counts gathered so far (done every ACTIVITY_FLUSH_MS, and first by statistics/unregistered). */
  flush(): Promise<void>;
  /** Stops the timed writes and writes what is left. */
  close(): Promise<void>;
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
    sql`with d as (delete from ${sourceActivityHourly} where ${h.hour} < ${at}::timestamptz returning 1)
        select count(*)::int as n from d`,
  );
  const sightings = await rows<{ n: number }>(
    database.orm,
    sql`with d as (delete from ${unregisteredSightings} where ${u.lastSeenAt} < ${at}::timestamptz returning 1)
        select count(*)::int as n from d`,
  );
  return { source_activity_hourly: decodeCount(hourly[0]?.n), unregistered_sighting: decodeCount(sightings[0]?.n) };
}

const column = (counter: ActivityCounter) => counter; // the columns are named as the counters

// Raw statements name the tables' columns through their schema (a renamed column no longer compiles).
const h = columnNames(sourceActivityHourly);
const u = columnNames(unregisteredSightings);
type HourlyColumn = keyof typeof h;
/** A counter's column in the schema (booking_confirmation -> bookingConfirmation); checked once at load. */
const counterKey = (counter: ActivityCounter): HourlyColumn =>
  counter.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()) as HourlyColumn;
for (const counter of ACTIVITY_COUNTERS) {
  if (!(counterKey(counter) in h)) throw new Error(`source_activity_hourly has no column for the counter ${counter}`);
}

function zero(): Counts {
  return Object.fromEntries(ACTIVITY_COUNTERS.map((counter) => [counter, 0])) as Counts;
}

// HSA-ids are not case-sensitive; counters and sightings are kept under the upper-case form (as registered).
const key = (sourceSystem: string) => sourceSystem.slice(0, 64).toUpperCase();

/** How often counts kept in memory are written (and how much a killed process may lose at most). */
export const ACTIVITY_FLUSH_MS = 1_000;
/**
 * Entries (system and hour, or system and care unit) kept in memory at most while the database cannot be
 * written; beyond it, new entries are dropped (and said so in the log). Far above what an hour brings.
 */
export const MAX_BUFFERED_ENTRIES = 10_000;

const HOUR_MS = 3_600_000;

/** Counts of one source system in one hour, not yet written. */
interface HourEntry {
  sourceSystem: string;
  hour: number;
  counts: Partial<Counts>;
  /** The last intake event (received or ignored), epoch ms; undefined: engine events only. */
  lastSeen: number | undefined;
}

/** An unregistered system's sightings at one care unit, not yet written. */
interface SightingEntry {
  sourceSystem: string;
  logicalAddress: string;
  n: number;
  firstSeen: number;
  lastSeen: number;
}

/** Counts kept in memory between writes; merged back when a write fails. */
class Pending {
  hours = new Map<string, HourEntry>();
  sightings = new Map<string, SightingEntry>();
  dropped = 0;

  get size(): number {
    return this.hours.size + this.sightings.size;
  }

  count(sourceSystem: string, counter: ActivityCounter, at: number, seen: boolean, by = 1): void {
    const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
    const id = `${sourceSystem}\u001f${hour}`;
    let entry = this.hours.get(id);
    if (!entry) {
      if (this.size >= MAX_BUFFERED_ENTRIES) return void (this.dropped += by);
      entry = { sourceSystem, hour, counts: {}, lastSeen: undefined };
      this.hours.set(id, entry);
    }
    entry.counts[counter] = (entry.counts[counter] ?? 0) + by;
    if (seen) entry.lastSeen = Math.max(entry.lastSeen ?? at, at);
  }

  sight(sourceSystem: string, logicalAddress: string, at: number, n = 1, firstSeen = at): void {
    const id = `${sourceSystem}\u001f${logicalAddress}`;
    let entry = this.sightings.get(id);
    if (!entry) {
      if (this.size >= MAX_BUFFERED_ENTRIES) return void (this.dropped += n);
      entry = { sourceSystem, logicalAddress, n: 0, firstSeen, lastSeen: at };
      this.sightings.set(id, entry);
    }
    entry.n += n;
    entry.firstSeen = Math.min(entry.firstSeen, firstSeen);
    entry.lastSeen = Math.max(entry.lastSeen, at);
  }

  /** Puts back what a failed write took (older counts first in line again). */
  mergeBack(taken: Pending): void {
    for (const entry of taken.hours.values()) {
      for (const counter of ACTIVITY_COUNTERS) {
        const by = entry.counts[counter];
        if (by) this.count(entry.sourceSystem, counter, entry.hour, false, by);
      }
      if (entry.lastSeen !== undefined) {
        const mine = this.hours.get(`${entry.sourceSystem}\u001f${entry.hour}`);
        if (mine) mine.lastSeen = Math.max(mine.lastSeen ?? entry.lastSeen, entry.lastSeen);
      }
    }
    for (const entry of taken.sightings.values())
      this.sight(entry.sourceSystem, entry.logicalAddress, entry.lastSeen, entry.n, entry.firstSeen);
    this.dropped += taken.dropped;
  }
}

/**
 * The counters of one process. Counting is off the answer path: recordIntake and recordEngine only add to
 * counts kept in memory (after their event's own transaction committed), and one statement per
 * ACTIVITY_FLUSH_MS writes what gathered, for every source system at once. So a call no longer waits for
 * a transaction of its own, and calls of one source system no longer queue on its counter row. What that
 * keeps: a count is only ever of a committed event, and reaches the table within about a second; reads
 * through this object (statistics, unregistered) write first, so they include everything counted here; a
 * stop writes what is left; a failed write keeps the counts and tries again with the next. A process
 * killed without a stop loses at most the last second's counts (never an event: the notifications are
 * stored), and a write whose commit answer was lost may count that second twice. Statistics, not ledgers.
 */
export function createSourceActivity(
  database: Database,
  environment: Environment,
  log: Logger,
  options: { flushEveryMs?: number; now?: () => number } = {},
): SourceActivity {
  const now = options.now ?? Date.now;
  let pending = new Pending();
  let writing: Promise<void> = Promise.resolve();
  let warnedDropped = 0;

  async function write(taken: Pending): Promise<void> {
    const hours = [...taken.hours.values()]
      .sort((a, b) => (a.sourceSystem < b.sourceSystem ? -1 : a.sourceSystem > b.sourceSystem ? 1 : a.hour - b.hour))
      .map((entry) => ({
        source_system: entry.sourceSystem,
        hour: entry.hour / 1000,
        seen: entry.lastSeen === undefined ? null : entry.lastSeen / 1000,
        ...zero(),
        ...entry.counts,
      }));
    const sightings = [...taken.sightings.values()]
      .sort((a, b) =>
        a.sourceSystem + '\u001f' + a.logicalAddress < b.sourceSystem + '\u001f' + b.logicalAddress ? -1 : 1,
      )
      .map((entry) => ({
        source_system: entry.sourceSystem,
        logical_address: entry.logicalAddress,
        n: entry.n,
        first_seen: entry.firstSeen / 1000,
        last_seen: entry.lastSeen / 1000,
      }));
    const columns = sql.join(
      ACTIVITY_COUNTERS.map((counter) => sql`${h[counterKey(counter)]}`),
      sql`, `,
    );
    const types = sql.raw(ACTIVITY_COUNTERS.map((counter) => `${column(counter)} bigint`).join(', '));
    const counted = sql.raw(ACTIVITY_COUNTERS.map((counter) => `t.${column(counter)}`).join(', '));
    const updates = sql.join(
      ACTIVITY_COUNTERS.map(
        (counter) => sql`${h[counterKey(counter)]} = h.${h[counterKey(counter)]} + excluded.${h[counterKey(counter)]}`,
      ),
      sql`, `,
    );
    // Both tables in one transaction: a failed write is put back whole and counted once, with the next.
    await database.orm.transaction(async (tx) => {
      if (hours.length > 0) {
        await tx.execute(sql`
          insert into ${sourceActivityHourly} as h
            (${h.environment}, ${h.sourceSystem}, ${h.hour}, ${columns}, ${h.lastSeenAt})
          select ${environment}, t.source_system, to_timestamp(t.hour), ${counted}, to_timestamp(t.seen)
          from jsonb_to_recordset(${JSON.stringify(hours)}::jsonb)
            as t(source_system text, hour float8, seen float8, ${types})
          order by t.source_system, t.hour
          on conflict (${h.environment}, ${h.sourceSystem}, ${h.hour}) do update set ${updates},
            ${h.lastSeenAt} = greatest(h.${h.lastSeenAt}, excluded.${h.lastSeenAt})`);
      }
      if (sightings.length > 0) {
        // Bounded: care units of a system beyond MAX_UNITS_PER_SYSTEM are not kept (its 'ignored' counter still
        // counts them); new units of one write are numbered per system, earliest seen first, against the room left.
        await tx.execute(sql`
          with t as (
            select t.*, exists (select 1 from ${unregisteredSightings} k where k.${u.environment} = ${environment}
                and k.${u.sourceSystem} = t.source_system and k.${u.logicalAddress} = t.logical_address) as known
            from jsonb_to_recordset(${JSON.stringify(sightings)}::jsonb)
              as t(source_system text, logical_address text, n bigint, first_seen float8, last_seen float8)
          ), numbered as (
            select t.*,
              row_number() over (partition by t.source_system, t.known order by t.first_seen, t.logical_address) as rn
            from t
          )
          insert into ${unregisteredSightings} as u
            (${u.environment}, ${u.sourceSystem}, ${u.logicalAddress}, ${u.notifications}, ${u.firstSeenAt},
             ${u.lastSeenAt})
          select ${environment}, t.source_system, t.logical_address, t.n, to_timestamp(t.first_seen),
            to_timestamp(t.last_seen)
          from numbered t
          where t.known or t.rn <= ${MAX_UNITS_PER_SYSTEM} - (select count(*) from ${unregisteredSightings} k
              where k.${u.environment} = ${environment} and k.${u.sourceSystem} = t.source_system)
          order by t.source_system, t.logical_address
          on conflict (${u.environment}, ${u.sourceSystem}, ${u.logicalAddress}) do update
            set ${u.notifications} = u.${u.notifications} + excluded.${u.notifications},
                ${u.firstSeenAt} = least(u.${u.firstSeenAt}, excluded.${u.firstSeenAt}),
                ${u.lastSeenAt} = greatest(u.${u.lastSeenAt}, excluded.${u.lastSeenAt})`);
      }
    });
  }

  /** Writes what gathered; one write at a time, so each count is taken by exactly one write. */
  function flush(): Promise<void> {
    writing = writing.then(async () => {
      if (pending.size === 0 && pending.dropped === 0) return;
      const taken = pending;
      pending = new Pending();
      if (taken.dropped > 0 && taken.dropped !== warnedDropped) {
        log.warn({ dropped: taken.dropped }, 'source activity: counts dropped while the database could not be written');
      }
      taken.dropped = 0;
      try {
        await write(taken);
      } catch (error) {
        pending.mergeBack(taken);
        warnedDropped = pending.dropped;
        log.warn(
          { reason: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : 'unknown' },
          'source activity: counts not written yet; kept for the next write',
        );
      }
    });
    return writing;
  }

  const timer = setInterval(() => void flush(), options.flushEveryMs ?? ACTIVITY_FLUSH_MS);
  timer.unref();

  return {
    recordIntake(sightings) {
      const at = now();
      for (const sighting of sightings) {
        const system = key(sighting.sourceSystem);
        pending.count(system, sighting.outcome, at, true);
        if (sighting.unregistered) pending.sight(system, sighting.logicalAddress.slice(0, 64), at);
      }
    },

    recordEngine(events) {
      const at = now();
      for (const event of events) pending.count(key(event.sourceSystem), event.counter, at, false);
    },

    flush,

    async close() {
      clearInterval(timer);
      await flush();
    },

    async statistics(only) {
      await flush();
      const sums = sql.raw(
        ACTIVITY_COUNTERS.map(
          (counter) =>
            `coalesce(sum(${column(counter)}) filter ` +
            `(where hour >= date_trunc('hour', now()) - interval '23 hours'), 0)::bigint as "d_${counter}", ` +
            `coalesce(sum(${column(counter)}), 0)::bigint as "w_${counter}"`,
        ).join(', '),
      );
      const found = await rows<Record<string, string | number | Date | null>>(
        database.orm,
        sql`select ${h.environment}, ${h.sourceSystem}, ${sums}, max(${h.lastSeenAt}) as last_seen_at
            from ${sourceActivityHourly}
            where ${h.hour} >= date_trunc('hour', now()) - interval '167 hours'
              ${only ? sql`and ${h.environment} = ${only}` : sql``}
            group by ${h.environment}, ${h.sourceSystem}
            order by ${h.environment}, ${h.sourceSystem}`,
      );
      return found.map((row) => {
        const last24h = zero();
        const last7d = zero();
        for (const counter of ACTIVITY_COUNTERS) {
          last24h[counter] = decodeCount(row[`d_${counter}`] as string | number | null);
          last7d[counter] = decodeCount(row[`w_${counter}`] as string | number | null);
        }
        const last = row.last_seen_at as Date | string | null;
        return {
          environment: row.environment as Environment,
          sourceSystem: String(row.source_system),
          last24h,
          last7d,
          lastSeenAt: last === null ? null : decodeDate(last).toISOString(),
        };
      });
    },

    async unregistered(registered, only) {
      await flush();
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
        sql`select ${u.environment}, ${u.sourceSystem}, sum(${u.notifications})::bigint as notifications,
                   min(${u.firstSeenAt}) as first_seen_at, max(${u.lastSeenAt}) as last_seen_at,
                   count(*)::int as unit_count,
                   array_to_json((array_agg(${u.logicalAddress}
                     order by ${u.lastSeenAt} desc, ${u.logicalAddress}))[1:${MAX_LISTED_UNITS}]) as units
            from ${unregisteredSightings} ${only ? sql`where ${u.environment} = ${only}` : sql``}
            group by ${u.environment}, ${u.sourceSystem}
            order by max(${u.lastSeenAt}) desc
            limit 1000`,
      );
      return found
        .filter((row) => !registered.get(row.environment)?.has(row.source_system))
        .map((row) => ({
          environment: row.environment,
          sourceSystem: row.source_system,
          notifications: decodeCount(row.notifications),
          firstSeenAt: decodeDate(row.first_seen_at).toISOString(),
          lastSeenAt: decodeDate(row.last_seen_at).toISOString(),
          careUnits: decodeJson<string[]>(row.units),
          careUnitCount: decodeCount(row.unit_count),
        }));
    },
  };
}
