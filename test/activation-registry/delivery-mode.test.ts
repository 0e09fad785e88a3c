// The directory's deliveryMode over a real (embedded) database: a source system's mode, a care unit's
// loading period by delivery time (before, inside, after, ended early), and the flood guard's hold.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSourceSystemDirectory, type SourceSystemDirectory } from '../../src/activation-registry/directory.js';
import { careUnitLoads, sourceSystems } from '../../src/activation-registry/schema.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let directory: SourceSystemDirectory;
const now = Date.now();
const at = (minutes: number) => new Date(now + minutes * 60_000);

beforeAll(async () => {
  database = await openTestDatabase();
  await database.orm.insert(sourceSystems).values([
    { environment: 'qa', hsaId: 'SE-PAS-ACTIVE', name: 'Active', mode: 'active' },
    { environment: 'qa', hsaId: 'SE-PAS-SILENT', name: 'Silent', mode: 'silent' },
    { environment: 'prod', hsaId: 'SE-PAS-PROD', name: 'Prod only', mode: 'active' },
  ]);
  await database.orm.insert(careUnitLoads).values([
    { environment: 'qa', logicalAddress: 'SE-UNIT-LOADING', startsAt: at(-10), endsAt: at(60) },
    { environment: 'qa', logicalAddress: 'SE-UNIT-LATER', startsAt: at(30), endsAt: at(90) },
    { environment: 'qa', logicalAddress: 'SE-UNIT-ENDED', startsAt: at(-10), endsAt: at(60), endedAt: at(-1) },
    { environment: 'prod', logicalAddress: 'SE-UNIT-PRODLOAD', startsAt: at(-10), endsAt: at(60) },
  ]);
  await database.orm
    .execute(sql`insert into care_unit_guard (environment, logical_address, first_seen_at, last_seen_at, hold_status, hold_started_at)
    values ('qa', 'SE-UNIT-HELD', now(), now(), 'holding', now()), ('qa', 'SE-UNIT-RELEASED', now(), now(), 'released', now())`);
  directory = await openSourceSystemDirectory(database, 'qa');
});
afterAll(async () => {
  await directory?.close();
  await database?.close();
});

describe('deliveryMode', () => {
  it.each([
    ['a source system not registered here', 'SE-PAS-UNKNOWN', 'SE-UNIT-ANY', at(0), undefined],
    ['a source system registered only in the other environment', 'SE-PAS-PROD', 'SE-UNIT-ANY', at(0), undefined],
    ['an active system, an ordinary unit', 'SE-PAS-ACTIVE', 'SE-UNIT-ANY', at(0), 'active'],
    ['a silent system', 'SE-PAS-SILENT', 'SE-UNIT-ANY', at(0), 'silent'],
    ['a unit inside its loading period', 'SE-PAS-ACTIVE', 'SE-UNIT-LOADING', at(0), 'silent'],
    ['a unit after its loading period', 'SE-PAS-ACTIVE', 'SE-UNIT-LOADING', at(61), 'active'],
    ['a unit before its coming period', 'SE-PAS-ACTIVE', 'SE-UNIT-LATER', at(0), 'active'],
    ['a unit inside its coming period', 'SE-PAS-ACTIVE', 'SE-UNIT-LATER', at(45), 'silent'],
    ['a unit whose period was ended early', 'SE-PAS-ACTIVE', 'SE-UNIT-ENDED', at(0), 'active'],
    ['a unit loading in the other environment', 'SE-PAS-ACTIVE', 'SE-UNIT-PRODLOAD', at(0), 'active'],
    ['a unit the flood guard holds', 'SE-PAS-ACTIVE', 'SE-UNIT-HELD', at(0), 'held'],
    ['a held unit of a silent system (silent wins: nothing to hold)', 'SE-PAS-SILENT', 'SE-UNIT-HELD', at(0), 'silent'],
    ['a unit whose hold was released', 'SE-PAS-ACTIVE', 'SE-UNIT-RELEASED', at(0), 'active'],
  ] as const)('When %s, then %s', (_when, system, unit, time, expected) => {
    expect(directory.deliveryMode(system, unit, time)).toBe(expected);
  });
});
