// The queue's liveness: heartbeats in lease_holder, and the release of a dead process's claims by a live
// one (at once, without waiting for the lease), on the real database (PGlite, or PostgreSQL with
// DATABASE_URL). A process declared dead that is in fact alive cannot complete what another took over.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../src/config.js';
import { rows } from '../../src/db/database.js';
import { createLogger } from '../../src/logging.js';
import { claimNotifications, completeNotifications } from '../../src/queue/in-database.js';
import { notificationLeases, startLiveness, type Liveness } from '../../src/queue/liveness.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

const log = createLogger({ level: 'silent' });
const HOUR = 3_600_000;
let database: TestDatabase;
const running: Liveness[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
});

afterAll(async () => {
  for (const liveness of running) await liveness.stop();
  await database?.close();
});

beforeEach(async () => {
  for (const liveness of running.splice(0)) await liveness.stop();
  await database.orm.execute(sql`delete from inbound_notification`);
  await database.orm.execute(sql`delete from lease_holder`);
});

async function queue(residents: string[]): Promise<void> {
  for (const [i, resident] of residents.entries()) {
    await database.orm.execute(
      sql`insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, engagement)
          values (1, ${i}, ${`key-${resident}-${i}`}, ${resident}, 'SE-PAS', false, ${JSON.stringify({ logicalAddress: 'SE-VC', categorization: 'Booking' })}::jsonb)`,
    );
  }
}

async function live(processId: string, options: { deadAfterMs?: number; exclusive?: boolean } = {}): Promise<Liveness> {
  const liveness = await startLiveness({
    database,
    processId,
    roles: ['worker'],
    log,
    // The loop is not waited for here: each test calls beat() itself.
    heartbeatMs: 60_000,
    deadAfterMs: options.deadAfterMs ?? 1_000,
    releasers: [notificationLeases],
    ...(options.exclusive ? { exclusive: true } : {}),
  });
  running.push(liveness);
  return liveness;
}

async function silence(processId: string, seconds: number): Promise<void> {
  await database.orm.execute(
    sql`update lease_holder set heartbeat_at = now() - make_interval(secs => ${seconds}) where process_id = ${processId}`,
  );
}

describe('liveness of lease holders', () => {
  it('When a process stops beating, then a live one releases its notifications at once and takes them, though the lease is an hour', async () => {
    await queue(['191212121212', '199001012384', '197001010001']);
    // Dead after a minute's silence, not the default second: on a loaded machine the steps below can take
    // seconds, and "alive" must still hold until the test silences the process itself.
    const deadAfterMs = 60_000;
    const dead = await live('host-a:100:aaaaaa', { deadAfterMs });
    const claimed = await claimNotifications(database, {
      workerId: 'host-a:100:aaaaaa/1',
      posts: 10,
      perPost: 5,
      leaseMs: HOUR,
    });
    expect(claimed).toHaveLength(3);
    expect(
      await claimNotifications(database, { workerId: 'host-b:200:bbbbbb', posts: 10, perPost: 5, leaseMs: HOUR }),
    ).toHaveLength(0);

    const survivor = await live('host-b:200:bbbbbb', { deadAfterMs });
    await survivor.beat();
    // Alive (a fresh heartbeat): nothing is released.
    expect(
      await claimNotifications(database, { workerId: 'host-b:200:bbbbbb', posts: 10, perPost: 5, leaseMs: HOUR }),
    ).toHaveLength(0);

    // It dies: its heartbeat grows old (its loop would have written one every second).
    await dead.stop().catch(() => {});
    await database.orm.execute(
      sql`insert into lease_holder (process_id, roles) values ('host-a:100:aaaaaa', 'worker')`,
    );
    await silence('host-a:100:aaaaaa', 120);
    await survivor.beat();
    const [holders] = await rows<{ n: number }>(
      database.orm,
      sql`select count(*)::int as n from lease_holder where process_id = 'host-a:100:aaaaaa'`,
    );
    expect(holders!.n).toBe(0);
    const taken = await claimNotifications(database, {
      workerId: 'host-b:200:bbbbbb',
      posts: 10,
      perPost: 5,
      leaseMs: HOUR,
    });
    expect(taken.map((item) => item.id)).toEqual(claimed.map((item) => item.id));

    // Were it alive after all, its completion is refused: the survivor owns them now.
    const completed = await database.orm.transaction((tx) =>
      completeNotifications(
        tx,
        claimed.map((item) => item.id),
        'host-a:100:aaaaaa/1',
      ),
    );
    expect(completed).toBe(false);
  });

  it('When two live processes look for the dead at once, then the dead one is reaped once', async () => {
    await queue(['191212121212']);
    await database.orm.execute(
      sql`insert into lease_holder (process_id, roles, heartbeat_at) values ('host-c:300:cccccc', 'worker', now() - interval '1 minute')`,
    );
    await claimNotifications(database, { workerId: 'host-c:300:cccccc', posts: 1, perPost: 1, leaseMs: HOUR });
    const reaped: Array<Record<string, number>> = [];
    const first = await startLiveness({
      database,
      processId: 'host-d:1:dddddd',
      roles: ['worker'],
      log,
      heartbeatMs: 60_000,
      deadAfterMs: 1_000,
      releasers: [notificationLeases],
      onReaped: (event) => reaped.push(event.released),
    });
    const second = await startLiveness({
      database,
      processId: 'host-e:1:eeeeee',
      roles: ['worker'],
      log,
      heartbeatMs: 60_000,
      deadAfterMs: 1_000,
      releasers: [notificationLeases],
      onReaped: (event) => reaped.push(event.released),
    });
    running.push(first, second);
    await Promise.all([first.beat(), second.beat()]);
    expect(reaped).toEqual([{ notifications: 1 }]);
  });

  it("When a process has a different id with the same prefix, then its claims are not taken for the dead one's", async () => {
    await queue(['191212121212']);
    await live('host-f:1:ffffff-other');
    await claimNotifications(database, { workerId: 'host-f:1:ffffff-other/k3', posts: 1, perPost: 1, leaseMs: HOUR });
    await database.orm.execute(
      sql`insert into lease_holder (process_id, roles, heartbeat_at) values ('host-f:1:ffffff', 'worker', now() - interval '1 minute')`,
    );
    await (await live('host-g:1:gggggg')).beat();
    expect(
      await claimNotifications(database, { workerId: 'host-g:1:gggggg', posts: 1, perPost: 1, leaseMs: HOUR }),
    ).toHaveLength(0);
  });

  it('When a process starts on the embedded database, then every other registered process is dead at once', async () => {
    await queue(['191212121212']);
    await database.orm.execute(sql`insert into lease_holder (process_id, roles) values ('host-h:1:hhhhhh', 'worker')`);
    await claimNotifications(database, { workerId: 'host-h:1:hhhhhh/1', posts: 1, perPost: 1, leaseMs: HOUR });
    await live('host-i:1:iiiiii', { deadAfterMs: HOUR, exclusive: true });
    expect(
      await claimNotifications(database, { workerId: 'host-i:1:iiiiii', posts: 1, perPost: 1, leaseMs: HOUR }),
    ).toHaveLength(1);
  });

  it('When this process itself could not beat for a while (the database was away for everyone), then it gives the others a period to beat again before it takes anyone for dead', async () => {
    await queue(['191212121212']);
    const deadAfterMs = 1_000;
    const survivor = await live('host-k:1:kkkkkk', { deadAfterMs });
    await database.orm.execute(sql`insert into lease_holder (process_id, roles) values ('host-l:1:llllll', 'worker')`);
    await claimNotifications(database, { workerId: 'host-l:1:llllll', posts: 1, perPost: 1, leaseMs: HOUR });
    // Both silent for longer than the limit (as in a database outage).
    await new Promise((resolve) => setTimeout(resolve, deadAfterMs + 100));
    await silence('host-l:1:llllll', 2);
    const claim = () =>
      claimNotifications(database, { workerId: 'host-k:1:kkkkkk', posts: 1, perPost: 1, leaseMs: HOUR });
    await survivor.beat();
    expect(await claim()).toHaveLength(0);
    // Beating again every 100 ms: the other is taken for dead only once a whole period has passed.
    const started = Date.now();
    let beats = 0;
    for (let taken = 0; taken === 0; taken = (await claim()).length) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await survivor.beat();
      beats++;
    }
    expect(beats).toBeGreaterThan(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(deadAfterMs - 150);
  });

  it('When a process stops cleanly, then it leaves no heartbeat to be reaped', async () => {
    const liveness = await live('host-j:1:jjjjjj');
    expect(liveness.fresh()).toBe(true);
    await liveness.stop();
    const [row] = await rows<{ n: number }>(database.orm, sql`select count(*)::int as n from lease_holder`);
    expect(row!.n).toBe(0);
  });

  it('When the dead limit is shorter than two heartbeats, then the configuration is refused', () => {
    expect(() => loadConfig({ WORKER_HEARTBEAT_SECONDS: '3', WORKER_DEAD_AFTER_SECONDS: '5' })).toThrow(ConfigError);
    expect(loadConfig({})).toMatchObject({ workerHeartbeatSeconds: 1, workerDeadAfterSeconds: 5 });
    // Twilio's API elsewhere (tests, a regional edge): never in clear text in production.
    expect(() => loadConfig({ NODE_ENV: 'production', TWILIO_API_URL: 'http://127.0.0.1:1234' })).toThrow(/https/);
    expect(loadConfig({ TWILIO_API_URL: 'http://127.0.0.1:1234' }).twilio.apiUrl).toBe('http://127.0.0.1:1234');
  });
});
