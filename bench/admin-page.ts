// npm run bench:admin: the time of GET /admin (signed in) against PostgreSQL holding 200 source systems
// and many stored notifications, and of the console's API reads and one trace.
//
// A fresh database is created next to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and
// dropped at the end (BENCH_KEEP=1 keeps it and prints its URL). Filled with: BENCH_ADMIN_SYSTEMS (200)
// registered source systems; BENCH_ADMIN_NOTIFICATIONS (10,000,000) processed notifications spread over
// them and over 30 days, with as many engine decisions; 2,000 dead letters and 500 pending; 35 days of
// hourly counters for every system; 100 unregistered systems seen at 20 care units each. Then the app
// (web role) is started in this process and /admin is fetched BENCH_ADMIN_VIEWS (30) times after 3 warm-up
// views. Printed: fill time, table sizes, and per page/API call p50, p95 and max in ms.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, rows } from '../src/db/database.js';
import { createLogger } from '../src/logging.js';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SYSTEMS = Number(process.env.BENCH_ADMIN_SYSTEMS ?? 200);
const NOTIFICATIONS = Number(process.env.BENCH_ADMIN_NOTIFICATIONS ?? 10_000_000);
const VIEWS = Number(process.env.BENCH_ADMIN_VIEWS ?? 30);
const CHUNK = 500_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(times: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), max: round(sorted.at(-1)!) };
}

async function main(): Promise<void> {
  const name = `ei_bench_admin_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString() });
  const log = (message: string) => console.error(`[bench:admin ${new Date().toISOString().slice(11, 19)}] ${message}`);
  try {
    const fillStart = performance.now();
    await database.orm.execute(sql`
      insert into source_system (environment, hsa_id, name, mode)
      select 'qa', 'SE2321000016-B' || lpad(g::text, 4, '0'), 'Bokningssystem ' || g, case when g % 10 = 0 then 'silent' else 'active' end
      from generate_series(1, ${SYSTEMS}) g`);
    // Notifications and the engine's decisions, in chunks (progress on stderr).
    for (let from = 1; from <= NOTIFICATIONS; from += CHUNK) {
      const to = Math.min(NOTIFICATIONS, from + CHUNK - 1);
      await database.orm.execute(sql`
        insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, delivered_mode, engagement, received_at, status, processed_at)
        select g / 100, 1, 'k' || g, '19' || lpad((g % 9999999999)::text, 10, '0'), 'SE2321000016-B' || lpad((1 + g % ${SYSTEMS})::text, 4, '0'),
               g % 5 = 0, 'active',
               jsonb_build_object('logicalAddress', 'SE2321000016-E' || (g % 5000), 'categorization', 'Booking', 'businessObjectInstanceIdentifier', 'B' || g),
               now() - ((g % 43200) || ' minutes')::interval, 'done', now() - ((g % 43200) || ' minutes')::interval
        from generate_series(${from}::bigint, ${to}::bigint) g`);
      await database.orm.execute(sql`
        insert into engine_decision (at, notification_id, key_hash, source_system, logical_address, booking_id, outcome, message_kind, because, message_cause)
        select now() - ((g % 43200) || ' minutes')::interval, g, 'k' || g, 'SE2321000016-B' || lpad((1 + g % ${SYSTEMS})::text, 4, '0'),
               'SE2321000016-E' || (g % 5000), 'B' || g,
               case when g % 3 = 0 then 'no_message' else 'message' end,
               case when g % 3 = 0 then null else 'booking_confirmation' end,
               case when g % 3 = 0 then 'unchanged post (redelivery or reload): no message' else 'new booking (use case 2)' end,
               case when g % 3 = 0 then null else 'notification:' || g end
        from generate_series(${from}::bigint, ${to}::bigint) g`);
      log(`${to.toLocaleString('en')} of ${NOTIFICATIONS.toLocaleString('en')} notifications and decisions`);
    }
    await database.orm.execute(sql`
      insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, engagement, status, attempts, last_error)
      select 1, 1, 'dead' || g, '191212121212', 'SE2321000016-B' || lpad((1 + g % 20)::text, 4, '0'), false,
             jsonb_build_object('logicalAddress', 'SE2321000016-E' || g, 'categorization', 'Booking', 'businessObjectInstanceIdentifier', 'D' || g),
             case when g <= 2000 then 'dead' else 'pending' end, 3, 'still failing after the retry period (12 h): timeout'
      from generate_series(1, 2500) g`);
    await database.orm.execute(sql`
      insert into source_activity_hourly (environment, source_system, hour, received, ignored, booking_confirmation, cancellation, rebooking, no_message, producer_failures, dead_letters, last_seen_at)
      select 'qa', 'SE2321000016-B' || lpad(s::text, 4, '0'), date_trunc('hour', now()) - (h || ' hours')::interval,
             60, 0, 30, 5, 5, 20, s % 3, 0, date_trunc('hour', now()) - (h || ' hours')::interval + interval '59 minutes'
      from generate_series(1, ${SYSTEMS}) s, generate_series(0, 35 * 24 - 1) h`);
    await database.orm.execute(sql`
      insert into unregistered_sighting (environment, source_system, logical_address, notifications, first_seen_at, last_seen_at)
      select 'qa', 'SE5565594230-U' || s, 'SE5565594230-E' || u, 10 + u, now() - interval '20 days', now() - (u || ' minutes')::interval
      from generate_series(1, 100) s, generate_series(1, 20) u`);
    await database.orm.execute(sql`analyze`);
    const fillMs = performance.now() - fillStart;
    const sizes = await rows<{ table: string; rows: number; size: string }>(
      database.orm,
      sql`select relname as table, reltuples::bigint as rows, pg_size_pretty(pg_total_relation_size(oid)) as size from pg_class
          where relname in ('inbound_notification', 'engine_decision', 'source_activity_hourly', 'unregistered_sighting', 'source_system') order by relname`,
    );

    const config = loadConfig({
      PORT: '0',
      DATABASE_URL: url.toString(),
      ROLES: 'web',
      CONSUMER_HSA_ID: 'SE-BENCH-INBOX',
      DATA_DIR: '.tmp/bench-admin',
    });
    const app = await buildApp({ config, database, log: createLogger({ level: 'warn' }) });
    const base = await app.listen();
    try {
      let cookie = '';
      const request = async (method: string, path: string, form?: Record<string, string>) => {
        const response = await fetch(`${base}${path}`, {
          method,
          redirect: 'manual',
          headers: { ...(cookie && { cookie }), ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
          ...(form && { body: new URLSearchParams(form).toString() }),
        });
        const setCookie = response.headers.get('set-cookie');
        if (setCookie) cookie = setCookie.split(';')[0]!;
        return { status: response.status, text: await response.text() };
      };
      const signInPage = await request('GET', '/admin/logga-in');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(signInPage.text)![1]!;
      await request('POST', '/admin/logga-in', { _csrf: csrf, name: 'Bench Admin' });

      const timed = async (label: string, path: string, times: number) => {
        for (let i = 0; i < 3; i++) await request('GET', path);
        const spent: number[] = [];
        let bytes = 0;
        for (let i = 0; i < times; i++) {
          const t0 = performance.now();
          const answer = await request('GET', path);
          spent.push(performance.now() - t0);
          if (answer.status !== 200) throw new Error(`${label}: status ${answer.status}`);
          bytes = answer.text.length;
        }
        return { ...summary(spent), bytes };
      };
      const cpu0 = process.cpuUsage();
      const page = await timed('/admin', '/admin', VIEWS);
      const cpu = process.cpuUsage(cpu0);
      const trace = await timed('trace', '/admin/sparning?kallsystem=SE2321000016-B0042&bokning=B41', VIEWS);
      console.log(
        JSON.stringify(
          {
            machine: `${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, load average ${os
              .loadavg()
              .map((v) => v.toFixed(2))
              .join(' ')}`,
            sourceSystems: SYSTEMS,
            notifications: NOTIFICATIONS,
            fillSeconds: Math.round(fillMs / 1000),
            tables: sizes.map((s) => `${s.table}: ${Number(s.rows).toLocaleString('en')} rows, ${s.size}`),
            adminPageMs: page,
            benchProcessCpuMsPerView: Math.round((cpu.user + cpu.system) / 1000 / VIEWS),
            traceOfOneBookingMs: trace,
            views: VIEWS,
          },
          null,
          2,
        ),
      );
    } finally {
      await app.close();
    }
  } finally {
    await database.close().catch(() => {});
    if (process.env.BENCH_KEEP === '1') console.error(`kept ${url.toString()}`);
    else await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
