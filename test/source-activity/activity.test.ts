// The source-activity counters on a real database: what falls in the last 24 hours and in the 7 days,
// case-insensitive source systems, the bound on an unregistered system's care units, and the purge.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/index.js';
import { createLogger } from '../../src/logging.js';
import {
  createSourceActivity,
  MAX_UNITS_PER_SYSTEM,
  purgeSourceActivity,
  type SourceActivity,
} from '../../src/source-activity/index.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let activity: SourceActivity;

beforeAll(async () => {
  database = await openTestDatabase();
  activity = createSourceActivity(database, 'qa', createLogger({ level: 'silent' }));
});
afterAll(async () => database?.close());

const hoursAgo = (hours: number) => sql`date_trunc('hour', now()) - (${hours} || ' hours')::interval`;

describe('source activity', () => {
  it('When counts are in this hour, 23 hours ago, 2 days ago and 8 days ago, then 24 h and 7 d sum exactly the right hours', async () => {
    await activity.recordIntake([
      { sourceSystem: 'se2321000016-cnt', logicalAddress: 'SE2321000016-E1', outcome: 'received', unregistered: false },
      { sourceSystem: 'SE2321000016-CNT', logicalAddress: 'SE2321000016-E1', outcome: 'received', unregistered: false },
    ]);
    await activity.recordEngine([
      { sourceSystem: 'SE2321000016-CNT', counter: 'booking_confirmation' },
      { sourceSystem: 'SE2321000016-CNT', counter: 'no_message' },
      { sourceSystem: 'SE2321000016-CNT', counter: 'producer_failures' },
    ]);
    for (const [hours, received] of [
      [23, 10],
      [48, 100],
      [8 * 24, 1000],
    ] as const) {
      await database.orm
        .execute(sql`insert into source_activity_hourly (environment, source_system, hour, received, last_seen_at)
        values ('qa', 'SE2321000016-CNT', ${hoursAgo(hours)}, ${received}, ${hoursAgo(hours)})`);
    }
    const [stats] = await activity.statistics('qa');
    expect(stats).toMatchObject({ environment: 'qa', sourceSystem: 'SE2321000016-CNT' });
    expect(stats!.last24h).toMatchObject({
      received: 12,
      booking_confirmation: 1,
      no_message: 1,
      producer_failures: 1,
      ignored: 0,
    });
    expect(stats!.last7d).toMatchObject({ received: 112, booking_confirmation: 1 });
    expect(Date.parse(stats!.lastSeenAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(await activity.statistics('prod')).toEqual([]);
  });

  it(`When an unregistered system sends for more than ${MAX_UNITS_PER_SYSTEM} care units, then ${MAX_UNITS_PER_SYSTEM} are kept and the rest only counted as ignored`, async () => {
    const sightings = Array.from({ length: MAX_UNITS_PER_SYSTEM + 5 }, (_, i) => ({
      sourceSystem: 'SE2321000016-MANY',
      logicalAddress: `SE2321000016-U${i}`,
      outcome: 'ignored' as const,
      unregistered: true,
    }));
    await activity.recordIntake(sightings.slice(0, MAX_UNITS_PER_SYSTEM));
    await activity.recordIntake(sightings.slice(MAX_UNITS_PER_SYSTEM));
    await activity.recordIntake([sightings[0]!]);
    const [seen] = await activity.unregistered(new Map());
    expect(seen).toMatchObject({
      sourceSystem: 'SE2321000016-MANY',
      careUnitCount: MAX_UNITS_PER_SYSTEM,
      notifications: MAX_UNITS_PER_SYSTEM + 1,
    });
    expect(seen!.careUnits).toHaveLength(20);
    expect(seen!.careUnits[0]).toBe('SE2321000016-U0');
    const many = (await activity.statistics('qa')).find((s) => s.sourceSystem === 'SE2321000016-MANY');
    expect(many!.last24h.ignored).toBe(MAX_UNITS_PER_SYSTEM + 6);
    // Registered now: no longer listed.
    expect(await activity.unregistered(new Map([['qa', new Set(['SE2321000016-MANY'])]]))).toEqual([]);
  });

  it('When counts are recorded, then nothing is written at once and close() writes them to the table', async () => {
    const own = createSourceActivity(database, 'qa', createLogger({ level: 'silent' }), { flushEveryMs: 3_600_000 });
    const received = async () =>
      (
        await rows<{ n: number }>(
          database.orm,
          sql`select coalesce(sum(received), 0)::int as n from source_activity_hourly where source_system = 'SE2321000016-BUF'`,
        )
      )[0]!.n;
    own.recordIntake([
      { sourceSystem: 'SE2321000016-BUF', logicalAddress: 'SE2321000016-E1', outcome: 'received', unregistered: false },
    ]);
    own.recordIntake([
      { sourceSystem: 'SE2321000016-BUF', logicalAddress: 'SE2321000016-E1', outcome: 'received', unregistered: false },
    ]);
    expect(await received()).toBe(0);
    await own.close();
    expect(await received()).toBe(2);
  });

  it('When the purge runs, then hours and sightings older than its limit go and the rest stays', async () => {
    const purged = await purgeSourceActivity(database, new Date(Date.now() - 7 * 86_400_000));
    expect(purged).toEqual({ source_activity_hourly: 1, unregistered_sighting: 0 });
    expect((await activity.statistics('qa')).find((s) => s.sourceSystem === 'SE2321000016-CNT')!.last7d.received).toBe(
      112,
    );
  });
});
