// The claim's plan when the database's statistics lag the queue: a queue table that was vacuumed while
// empty keeps its pages and "0 rows", and the planner scales that to nothing however much is queued next
// (autovacuum off or not yet round). The claim must still fetch the rows it leases by key, once.
import { sql, type SQL } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import {
  CLAIM_PLANNER_SETTINGS,
  claimNotifications,
  claimNotificationsById,
  claimStatement,
  othersStatement,
} from '../../src/queue/in-database.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

// A database per test: each starts with the table's statistics and the claim's once-a-minute check fresh.
let database: TestDatabase;
beforeEach(async () => {
  database = await openTestDatabase();
});
afterEach(async () => {
  await database?.close();
});

const POSTS = 600;

/** `posts` pending notifications, one per post, each of its own citizen (every third a delete with `deletes`). */
const queuePosts = (deletes = false, posts = POSTS) =>
  database.orm.execute(
    sql`insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, delivered_mode, engagement)
        select 1, i, 'post-' || i, '1912' || lpad(i::text, 8, '0'), 'SE-PAS', ${deletes} and i % 3 = 0, 'active',
               jsonb_build_object('businessObjectInstanceIdentifier', 'B-' || i, 'categorization', 'Booking')
        from generate_series(1, ${posts}) as i`,
  );

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Recheck Cond'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Parent Relationship'?: string;
  Plans?: PlanNode[];
}

/** The statistics a queue table has when it was vacuumed while empty: 0 rows, its pages kept. */
async function emptyStatistics(): Promise<void> {
  await queuePosts();
  await database.orm.execute(sql`delete from inbound_notification`);
  await database.orm.execute(sql`vacuum (truncate false) inbound_notification`);
  const [stats] = await rows<{ reltuples: number; relpages: number }>(
    database.orm,
    sql`select reltuples::float8 as reltuples, relpages from pg_class where relname = 'inbound_notification'`,
  );
  expect(Number(stats!.reltuples)).toBe(0);
  expect(Number(stats!.relpages)).toBeGreaterThan(0);
}

/** The planner's idea of how many notifications are pending. */
const planned = async () =>
  Number(
    (
      await rows<{ n: number }>(
        database.orm,
        sql`select reltuples::float8 as n from pg_class where relname = 'inbound_notification_pending_idx'`,
      )
    )[0]!.n,
  );

/** The plan of a statement, as PostgreSQL's JSON plan. */
async function planOf(statement: SQL): Promise<PlanNode> {
  const [row] = await rows<{ 'QUERY PLAN': unknown }>(database.orm, sql`explain (format json) ${statement}`);
  const json = row!['QUERY PLAN'];
  return ((typeof json === 'string' ? JSON.parse(json) : json) as { Plan: PlanNode }[])[0]!.Plan;
}

/** Every node of a plan, depth first. */
const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

describe('The claim under statistics that say the queue is empty', () => {
  it('When hundreds of notifications are pending in a table whose statistics say 0 rows, then the claim reads the rows it leases in one scan, takes one item per post up to its limit and brings the statistics up to date', async () => {
    await emptyStatistics();
    await queuePosts();

    const options = { workerId: 'me', posts: 100, perPost: 20, leaseMs: 60_000 };
    const plan = await database.orm.transaction(async (tx) => {
      await tx.execute(CLAIM_PLANNER_SETTINGS);
      const [row] = await rows<{ 'QUERY PLAN': unknown }>(tx, sql`explain (format json) ${claimStatement(options)}`);
      const json = row!['QUERY PLAN'];
      return (typeof json === 'string' ? JSON.parse(json) : json) as { Plan: PlanNode }[];
    });
    const update = plan[0]!.Plan;
    expect(update['Node Type']).toBe('ModifyTable');
    // The rows to lease: what the update reads besides its CTEs and init plans.
    const scanned = (update.Plans ?? []).filter(
      (node) => node['Parent Relationship'] !== 'InitPlan' && node['Parent Relationship'] !== 'SubPlan',
    );
    // One scan of the table for the ids, by key or (a small table) straight through; never a join that
    // re-runs the walk per post for every row of the table.
    expect(scanned).toHaveLength(1);
    expect(scanned[0]!['Node Type']).toMatch(/^(Index|Seq) Scan$/);
    expect(scanned[0]!['Index Cond'] ?? scanned[0]!.Filter).toMatch(/= ANY/);
    expect(scanned[0]!.Plans ?? []).toEqual([]);

    expect(await planned()).toBeLessThan(100);
    const claimed = await claimNotifications(database, options);
    // A full claim while the planner believed fewer pending: the statistics are brought up to date at once.
    expect(await planned()).toBe(POSTS);
    expect(claimed).toHaveLength(100);
    expect(new Set(claimed.map((item) => item.keyHash)).size).toBe(100);
    expect(claimed.map((item) => item.keyHash)).toEqual(Array.from({ length: 100 }, (_, i) => `post-${i + 1}`));
  });

  it('When Kafka hands over notifications while thousands are pending, then the look-up of what they wait for goes by their posts and citizens, not through every pending row, once the claim has brought the statistics up to date', async () => {
    // A queue big enough that reading all of it costs more than looking up 10 posts (a small one is read
    // straight through, rightly).
    const pending = 20_000;
    await emptyStatistics();
    await queuePosts(true, pending);
    const last = await rows<{ id: number; key_hash: string; resident: string }>(
      database.orm,
      sql`select id, key_hash, resident from inbound_notification order by id desc limit 10`,
    );
    const ids = last.map((row) => Number(row.id));

    const claimed = await claimNotificationsById(database, ids, 'me', 60_000);
    expect(claimed.map((item) => item.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect(await planned()).toBe(pending);

    const candidates = last.map((row) => ({ id: Number(row.id), keyHash: row.key_hash, resident: row.resident }));
    const plan = nodes(await planOf(othersStatement(candidates)));
    const scans = plan.filter((node) => /Scan$/.test(node['Node Type']) && node['Relation Name'] !== undefined);
    // Both halves read the table by key: index conditions on the posts and on the citizens, no full scan.
    expect(scans.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    const conditions = plan.map((node) => node['Index Cond'] ?? node['Recheck Cond'] ?? '').join(' ');
    expect(conditions).toMatch(/key_hash = ANY/);
    expect(conditions).toMatch(/resident = ANY/);
  });
});
