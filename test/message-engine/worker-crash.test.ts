// A crash test: the real service (`src/main.ts`) as a child process, killed with SIGKILL in the middle of
// a batch while it fetches details, restarted on the same database; every expected message is there
// exactly once. Runs on the embedded database (DATA_DIR) and on PostgreSQL (DATABASE_URL).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rows, type Database } from '../../src/db/database.js';
import { startBookingProducer, sampleTimeslot, type BookingProducer } from '../helpers/booking-producer.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { engagement, notificationEnvelope, postNotification } from '../helpers/soap.js';
import { freePort } from '../helpers/net.js';

const SECRET = 'crash-test-secret-crash-test-secret-0123456789';
const CITIZENS = 240;
const UNIT = 'SE2321000016-VC1';
const SYSTEM = 'SE2321000016-PAS';

let producer: BookingProducer;
let testDatabase: TestDatabase | undefined;
let dataDir: string;
let children: ChildProcess[] = [];

function citizen(i: number): string {
  return `19700101${String(i).padStart(4, '0')}`;
}

async function startService(port: number): Promise<ChildProcess> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    DATA_DIR: dataDir,
    NTJP_GETBOOKINGDETAILS_URL: producer.url,
    CONSUMER_HSA_ID: 'SE-TEST-INBOX',
    // Hundreds of posts from care units new to this database: not a flood-guard test (the guard would hold them).
    FLOOD_GUARD_THRESHOLD: '0',
    AUTH_JWT_SECRET: SECRET,
    // An hour: the restarted service takes the killed one's notifications over by the heartbeats (at once
    // on the embedded database, after WORKER_DEAD_AFTER_SECONDS on PostgreSQL), never by the lease.
    WORKER_LEASE_SECONDS: '3600',
    WORKER_DEAD_AFTER_SECONDS: '3',
    LOG_LEVEL: 'warn',
  };
  if (testDatabase?.url) env.DATABASE_URL = testDatabase.url;
  else delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  // A cold start under tsx on a loaded machine has taken more than 30 s: a bound on waiting, not a speed check.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the service did not become ready');
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

beforeAll(async () => {
  producer = await startBookingProducer();
  // Slow enough that the kill lands while details are being fetched.
  producer.handle((request) => ({
    delayMs: 40,
    details: sampleTimeslot({
      healthcareFacility: UNIT,
      subjectOfCare: request.actorId,
      startTimeInclusive: '20270115093000',
    }),
  }));
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-crash-'));
  if (process.env.DATABASE_URL) testDatabase = await openTestDatabase();
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await producer?.close();
  await testDatabase?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('worker crash', () => {
  it('When the service is killed with SIGKILL mid-batch and restarted, then every expected message exists exactly once', async () => {
    const port = await freePort();
    const first = await startService(port);
    const token = await new SignJWT({ sub: 'crash-test', name: 'Crash Test', roles: ['national-admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));
    const registered = await fetch(`http://127.0.0.1:${port}/api/admin/source-systems`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'qa', hsaId: SYSTEM, name: 'Crash PAS', mode: 'active' }),
    });
    expect(registered.status).toBe(201);

    for (let call = 0; call < CITIZENS / 20; call++) {
      const transactions = Array.from({ length: 20 }, (_, i) =>
        engagement({
          registeredResidentIdentification: citizen(call * 20 + i),
          logicalAddress: UNIT,
          sourceSystem: SYSTEM,
          businessObjectInstanceIdentifier: `CRASH-${call * 20 + i}`,
        }),
      );
      const answer = await postNotification(`http://127.0.0.1:${port}`, notificationEnvelope(transactions));
      expect(answer.resultCode).toBe('OK');
    }

    // Kill it while the producer is half-way through the batch.
    const deadline = Date.now() + 30_000;
    while (producer.requests.length < CITIZENS / 3 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    first.kill('SIGKILL');
    await exited(first);
    const fetchedBeforeKill = producer.requests.length;
    expect(fetchedBeforeKill).toBeGreaterThan(0);
    expect(fetchedBeforeKill).toBeLessThan(CITIZENS);

    const second = await startService(port);
    // Done when every booking was fetched at least once and the producer has been quiet for a while.
    const fetchedAll = () => new Set(producer.requests.map((r) => r.bookingId)).size === CITIZENS;
    const until = Date.now() + 60_000;
    let lastCount = -1;
    let quietSince = Date.now();
    while (Date.now() < until) {
      if (producer.requests.length !== lastCount) {
        lastCount = producer.requests.length;
        quietSince = Date.now();
      } else if (fetchedAll() && Date.now() - quietSince > 2500) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    second.kill('SIGTERM');
    await exited(second);

    const database: Database = testDatabase ?? (await openDatabase({ dataDir: path.join(dataDir, 'pglite') }));
    try {
      const [counts] = await rows<{
        messages: number;
        residents: number;
        requests: number;
        pending: number;
        dead: number;
      }>(
        database.orm,
        sql`select (select count(*)::int from inbox_message) as messages,
                   (select count(distinct resident)::int from inbox_message) as residents,
                   (select count(*)::int from notification_request) as requests,
                   (select count(*)::int from inbound_notification where status = 'pending') as pending,
                   (select count(*)::int from inbound_notification where status = 'dead') as dead`,
      );
      expect(counts).toEqual({ messages: CITIZENS, residents: CITIZENS, requests: CITIZENS, pending: 0, dead: 0 });
      const kinds = await rows<{ kind: string; n: number }>(
        database.orm,
        sql`select kind, count(*)::int as n from inbox_message group by kind`,
      );
      expect(kinds).toEqual([{ kind: 'booking_confirmation', n: CITIZENS }]);
    } finally {
      if (!testDatabase) await database.close();
    }
  }, 300_000);
});
