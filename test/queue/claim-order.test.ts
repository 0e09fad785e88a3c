// The queue's ordering rules on the real database: per post in order and one worker at a time; a delete
// passes its post's items that wait for a retry; a new post waits for its citizen's earlier deletes at the
// same source system; nothing else waits (another post of the same citizen waiting for its producer does
// not). Both claims: the table loop's (claimNotifications) and Kafka's (claimNotificationsById).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { claimNotifications, claimNotificationsById, releaseNotifications } from '../../src/queue/in-database.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database?.close();
});
beforeEach(async () => {
  await database.orm.execute(sql`delete from inbound_notification`);
});

interface Item {
  post: string;
  resident?: string;
  system?: string;
  deleteFlag?: boolean;
  /** Waiting for a retry (available later). */
  waiting?: boolean;
  /** Leased by another worker. */
  leased?: boolean;
}

/** Inserts the items in order; returns their ids. */
async function queue(...items: Item[]): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, item] of items.entries()) {
    const [row] = await rows<{ id: string }>(
      database.orm,
      sql`insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, delivered_mode, engagement, available_at, lease_owner, lease_until, attempts)
          values (1, ${i + 1}, ${item.post}, ${item.resident ?? '191212121212'}, ${item.system ?? 'SE-PAS'}, ${item.deleteFlag ?? false}, 'active',
                  ${JSON.stringify({ logicalAddress: 'SE-VC1', businessObjectInstanceIdentifier: item.post, categorization: 'Booking' })}::jsonb,
                  now() + ${item.waiting ? sql`interval '5 minutes'` : sql`interval '0 seconds'`},
                  ${item.leased ? 'other-worker' : null}, ${item.leased ? sql`now() + interval '1 minute'` : null}, ${item.waiting ? 1 : 0})
          returning id`,
    );
    ids.push(Number(row!.id));
  }
  return ids;
}

const byTable = async () =>
  (await claimNotifications(database, { workerId: 'me', posts: 100, perPost: 20, leaseMs: 60_000 })).map(
    (item) => item.id,
  );
const byKafka = async (ids: number[]) =>
  (await claimNotificationsById(database, ids, 'me', 60_000)).map((item) => item.id);

describe.each([
  ['table loop', 'table'],
  ['Kafka hand-over', 'kafka'],
])('claim order (%s)', (_name, how) => {
  const claim = (ids: number[]) => (how === 'table' ? byTable() : byKafka(ids));

  it("When a post waits for a retry, then the citizen's other posts are claimed, and the post's later items are not", async () => {
    const ids = await queue({ post: 'A', waiting: true }, { post: 'A' }, { post: 'B' }, { post: 'C' });
    expect(await claim(ids)).toEqual([ids[2], ids[3]]);
  });

  it('When a delete follows items of its post that wait for a retry, then the delete passes them', async () => {
    const ids = await queue({ post: 'A', waiting: true }, { post: 'A', deleteFlag: true }, { post: 'A' });
    expect(await claim(ids)).toEqual([ids[1], ids[2]]);
  });

  it('When an item of a post is leased by another worker, then no other item of that post is claimed', async () => {
    const ids = await queue({ post: 'A', leased: true }, { post: 'A' }, { post: 'B' });
    expect(await claim(ids)).toEqual([ids[2]]);
  });

  it("When a new post follows a delete of the citizen's other post at the same source system, then it waits for it (the rebooking window)", async () => {
    const ids = await queue(
      { post: 'A', deleteFlag: true, leased: true },
      { post: 'B' },
      { post: 'C', system: 'SE-OTHER' },
      { post: 'D', resident: '191111111111' },
    );
    expect(await claim(ids)).toEqual([ids[2], ids[3]]);
  });

  it('When nothing is in the way, then a post comes with its followers, in order', async () => {
    const ids = await queue(
      { post: 'A' },
      { post: 'A', deleteFlag: true },
      { post: 'A' },
      { post: 'B', deleteFlag: true },
      { post: 'B' },
    );
    expect(await claim(ids)).toEqual(ids);
  });
});

describe('claims of two workers', () => {
  it('When two workers claim at once, then no post is in the hands of both', async () => {
    await queue(
      ...Array.from({ length: 40 }, (_, i) => ({
        post: `P${i % 10}`,
        resident: `19121212${String(1000 + (i % 7)).slice(-4)}`,
        deleteFlag: i % 5 === 0,
      })),
    );
    const [a, b] = await Promise.all([
      claimNotifications(database, { workerId: 'w1', posts: 5, perPost: 3, leaseMs: 60_000 }),
      claimNotifications(database, { workerId: 'w2', posts: 5, perPost: 3, leaseMs: 60_000 }),
    ]);
    const postsA = new Set(a.map((item) => item.keyHash));
    expect(b.filter((item) => postsA.has(item.keyHash))).toEqual([]);
    await releaseNotifications(
      database,
      a.map((item) => item.id),
      'w1',
    );
  });
});
