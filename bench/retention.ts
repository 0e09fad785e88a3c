// npm run bench:retention: how fast the purge deletes expired rows, and what a round costs when there is
// nothing to delete, against PostgreSQL.
//
// A fresh database is created next to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
// and dropped at the end. BENCH_RETENTION_ROWS (default 200000) processed notifications older than the
// queue's period are written, plus as many recent ones and as many booking posts still ahead; then one
// purge round (default periods, RETENTION_BATCH_SIZE 1000) deletes the old ones. Printed: rows deleted
// per second, statements, and the time of a second round that finds nothing to delete.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config.js';
import { openDatabase, rows } from '../src/db/database.js';
import { purgeExpired } from '../src/operations/retention.js';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.BENCH_RETENTION_ROWS ?? 200_000);

async function main(): Promise<void> {
  const name = `ei_bench_retention_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString() });
  try {
    const engagement = JSON.stringify({ registeredResidentIdentification: '191212121212' });
    const fill = async (age: string, count: number) =>
      database.orm.execute(sql`
        insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, engagement, received_at, status, processed_at)
        select 1, 1, 'k' || g, lpad((g % 100000)::text, 12, '19'), 'SE-SYS', false, ${engagement}::jsonb,
               now() - ${age}::interval, 'done', now() - ${age}::interval
        from generate_series(1, ${count}) g`);
    await fill('30 days', ROWS);
    await fill('1 day', ROWS);
    await database.orm.execute(sql`
      insert into booking_post (key_hash, resident, source_system, logical_address, booking_id, categorization, present, details, start_at)
      select 'p' || g, '191212121212', 'SE-SYS', 'SE-VC', 'B' || g, 'Booking', true, '{}'::jsonb, now() + interval '10 days'
      from generate_series(1, ${ROWS}) g`);
    await database.orm.execute(sql`analyze`);

    const retention = loadConfig({}).retention;
    let statements = 0;
    const counted = {
      ...database,
      orm: new Proxy(database.orm, {
        get(target, property, receiver) {
          if (property === 'execute')
            return (query: Parameters<typeof target.execute>[0]) => (statements++, target.execute(query));
          return Reflect.get(target, property, receiver) as unknown;
        },
      }),
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await purgeExpired(counted, retention, new Date());
    const first = performance.now() - t0;
    const firstStatements = statements;
    statements = 0;
    const t1 = performance.now();
    await purgeExpired(counted, retention, new Date());
    const second = performance.now() - t1;
    const cpu = process.cpuUsage(cpu0);
    const [left] = await rows<{ n: number }>(database.orm, sql`select count(*)::int as n from inbound_notification`);
    console.log(
      JSON.stringify(
        {
          rowsExpired: ROWS,
          rowsKept: Number(left!.n),
          deleted: report.inbound_notification,
          firstRoundMs: Math.round(first),
          deletedPerSecond: Math.round(((report.inbound_notification ?? 0) / first) * 1000),
          firstRoundStatements: firstStatements,
          emptyRoundMs: Math.round(second),
          emptyRoundStatements: statements,
          serviceCpuMs: Math.round((cpu.user + cpu.system) / 1000),
        },
        null,
        2,
      ),
    );
  } finally {
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
