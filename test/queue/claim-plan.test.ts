// The claim's plan when the database's statistics lag the queue: a queue table that was vacuumed while
// empty keeps its pages and "0 rows", and the planner scales that to nothing however much is queued next
// (autovacuum off or not yet round). The claim must still fetch the rows it leases by key, once.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { CLAIM_PLANNER_SETTINGS, claimNotifications, claimStatement } from '../../src/queue/in-database.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const POSTS = 600;

/** POSTS pending notifications, one per post, of POSTS citizens. */
const queuePosts = () =>
  database.orm.execute(
    sql`insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, delivered_mode, engagement)
        select 1, i, 'post-' || i, '1912' || lpad(i::text, 8, '0'), 'SE-PAS', false, 'active',
               jsonb_build_object('businessObjectInstanceIdentifier', 'B-' || i, 'categorization', 'Booking')
        from generate_series(1, ${POSTS}) as i`,
  );

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Parent Relationship'?: string;
  Plans?: PlanNode[];
}

describe('The claim under statistics that say the queue is empty', () => {
  it('When hundreds of notifications are pending in a table whose statistics say 0 rows, then the claim reads the rows it leases in one scan, takes one item per post up to its limit and brings the statistics up to date', async () => {
    await queuePosts();
    await database.orm.execute(sql`delete from inbound_notification`);
    await database.orm.execute(sql`vacuum (truncate false) inbound_notification`);
    const [stats] = await rows<{ reltuples: number; relpages: number }>(
      database.orm,
      sql`select reltuples::float8 as reltuples, relpages from pg_class where relname = 'inbound_notification'`,
    );
    expect(Number(stats!.reltuples)).toBe(0);
    expect(Number(stats!.relpages)).toBeGreaterThan(0);
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

    const planned = async () =>
      Number(
        (
          await rows<{ n: number }>(
            database.orm,
            sql`select reltuples::float8 as n from pg_class where relname = 'inbound_notification_pending_idx'`,
          )
        )[0]!.n,
      );
    expect(await planned()).toBeLessThan(100);
    const claimed = await claimNotifications(database, options);
    // A full claim while the planner believed fewer pending: the statistics are brought up to date at once.
    expect(await planned()).toBe(POSTS);
    expect(claimed).toHaveLength(100);
    expect(new Set(claimed.map((item) => item.keyHash)).size).toBe(100);
    expect(claimed.map((item) => item.keyHash)).toEqual(Array.from({ length: 100 }, (_, i) => `post-${i + 1}`));
  });
});
