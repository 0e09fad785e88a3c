// Kills, measured: the real service (src/main.ts) as child processes, SIGKILLed in the middle of work.
//   - A worker killed with notifications in hand: with PostgreSQL (DATABASE_URL) a second worker process
//     is running and takes them over once the dead one's heartbeat is missed; on the embedded database
//     the service is restarted and releases them at start. WORKER_LEASE_SECONDS is an hour, so finishing
//     at all shows that the heartbeat released them, not the lease running out.
//   - A sender killed while SMS (Twilio, through the real SDK against a local fake with its message list)
//     and e-mails (a real SMTP server) are being handed over: every citizen gets exactly one SMS, and
//     e-mails with exactly one Message-ID, counted on the providers' side.
// Short form with RESILIENCE=1, long form with RESILIENCE_LONG=1 (npm run resilience). Figures are printed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, rows, type Database } from '../../src/db/database.js';
import { adminToken, bearer, citizenToken } from '../helpers/auth.js';
import { startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/net.js';
import { engagement, notificationEnvelope, postNotification } from '../helpers/soap.js';
import { startFakeTwilio, startSmtpServer, type FakeTwilio } from '../channels/helpers.js';
import { answerBookings, citizen, outcome, sendTraffic, SYSTEM, unitOf } from '../kafka/helpers.js';

const LONG = process.env.RESILIENCE_LONG === '1';
const ENABLED = LONG || process.env.RESILIENCE === '1';
if (!ENABLED)
  console.log(
    '[kill tests skipped] they run child processes for minutes: RESILIENCE=1 npx vitest run test/resilience, or npm run resilience',
  );
const SECRET = 'kills-test-secret-kills-test-secret-0123456789';
const auth = { auth: { jwtSecret: SECRET, jwksUrl: undefined }, dataDir: os.tmpdir() };
const HEARTBEAT_SECONDS = 1;
const DEAD_AFTER_SECONDS = 3;
const ACCOUNT_SID = 'AC00000000000000000000000000000001';
const figures: Record<string, unknown> = {};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Service {
  child: ChildProcess;
  url: string;
  lines: string[];
}

let testDatabase: TestDatabase | undefined;
let dataDir: string;
let producer: BookingProducer;
const services: Service[] = [];

async function startService(extra: Record<string, string>, port?: number): Promise<Service> {
  const listenOn = port ?? (await freePort());
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(listenOn),
    DATA_DIR: dataDir,
    NTJP_GETBOOKINGDETAILS_URL: producer.url,
    CONSUMER_HSA_ID: 'SE-TEST-INBOX',
    AUTH_JWT_SECRET: SECRET,
    WORKER_LEASE_SECONDS: '3600',
    WORKER_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
    WORKER_DEAD_AFTER_SECONDS: String(DEAD_AFTER_SECONDS),
    REBOOK_WINDOW_SECONDS: '4',
    NOTIFY_DIGEST_SECONDS: '0',
    SMS_QUIET_HOURS: '',
    SMS_DAILY_CAP: '50',
    LOG_LEVEL: 'info',
    ...extra,
  };
  delete env.KAFKA_BROKERS;
  if (testDatabase?.url) env.DATABASE_URL = testDatabase.url;
  else delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const service: Service = { child, url: `http://127.0.0.1:${listenOn}`, lines: [] };
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (chunk: Buffer) => service.lines.push(...chunk.toString().split('\n').filter(Boolean)));
  services.push(service);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service ended: ${service.lines.slice(-5).join('\n')}`);
    if (
      await fetch(`${service.url}/readyz`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      return service;
    await sleep(100);
  }
  throw new Error('the service did not become ready');
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const service of services.splice(0)) {
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill(signal);
    await exited(service.child);
  }
}

/** The database with the services stopped (embedded), or at any time (PostgreSQL). */
async function withDatabase<T>(check: (database: Database) => Promise<T>): Promise<T> {
  const database = testDatabase ?? (await openDatabase({ dataDir: path.join(dataDir, 'pglite') }));
  try {
    return await check(database);
  } finally {
    if (!testDatabase) await database.close();
  }
}

async function pendingOf(service: Service): Promise<number> {
  const text = await fetch(`${service.url}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith('ei_queue_pending '));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

/** The lines a service logged about reaping dead processes: what it released. */
function reapings(
  service: Service,
): Array<{ time: number; processes: string[]; silentMs: number[]; released: Record<string, number> }> {
  return service.lines
    .filter((line) => line.includes('taken for dead'))
    .map(
      (line) =>
        JSON.parse(line) as { time: number; processes: string[]; silentMs: number[]; released: Record<string, number> },
    );
}

async function registerSystem(service: Service): Promise<void> {
  const token = await adminToken(auth, 'Kills');
  const answer = await fetch(`${service.url}/api/admin/source-systems`, {
    method: 'POST',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    body: JSON.stringify({ environment: 'qa', hsaId: SYSTEM, name: 'Kill test PAS', mode: 'active' }),
  });
  expect(answer.status).toBe(201);
}

/** The lease holder row of a child process (its worker id carries the pid). */
async function processIdOf(database: Database, child: ChildProcess): Promise<string | undefined> {
  const [row] = await rows<{ process_id: string }>(
    database.orm,
    sql`select process_id from lease_holder where process_id like ${`%:${child.pid}:%`}`,
  );
  return row?.process_id;
}

beforeAll(async () => {
  if (!ENABLED) return;
  producer = await startBookingProducer();
});

// Each scenario on a database of its own.
beforeEach(async () => {
  if (!ENABLED) return;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-kills-'));
  await testDatabase?.close();
  testDatabase = process.env.DATABASE_URL ? await openTestDatabase() : undefined;
});

afterEach(async () => {
  await stopAll('SIGKILL');
});

afterAll(async () => {
  await stopAll('SIGKILL');
  await producer?.close();
  await testDatabase?.close();
  if (ENABLED)
    console.log(
      `kill figures (${LONG ? 'long' : 'short'} form, ${testDatabase ? 'PostgreSQL' : 'embedded'}):\n${JSON.stringify(figures, null, 2)}`,
    );
});

describe.runIf(ENABLED)(`kills${ENABLED ? '' : ' (skipped: RESILIENCE=1 runs them)'}`, () => {
  it('When a worker is SIGKILLed with notifications in hand, then they are released by the heartbeat (the lease is an hour) and every message exists exactly once', async () => {
    const citizens = LONG ? 1000 : 200;
    // 8 calls in flight per care unit, 20 units, 60 ms each: the backlog takes a few seconds to work off.
    answerBookings(producer, 60);
    const port = await freePort();
    const first = await startService({}, port);
    await registerSystem(first);
    const second = testDatabase ? await startService({ ROLES: 'worker' }) : undefined;

    // Each citizen: a booking, then (a later call) its delete and a new booking: a rebooking.
    const traffic = sendTraffic(() => first.url, citizens, { perBlock: 50, callers: 2 });
    const requestsAtStart = producer.requests.length;
    while (producer.requests.length - requestsAtStart < citizens / 2) await sleep(20);
    let leasedAtKill: number | undefined;
    let victim: string | undefined;
    if (testDatabase) {
      victim = await processIdOf(testDatabase, first.child);
      // Kill it with notifications in hand: between two batches it may hold none, so look until it does.
      for (let look = 0; look < 2000; look++) {
        const [row] = await rows<{ n: number }>(
          testDatabase.orm,
          sql`select count(*)::int as n from inbound_notification where status = 'pending' and lease_until > now() and split_part(lease_owner, '/', 1) = ${victim ?? ''}`,
        );
        leasedAtKill = row?.n;
        if ((leasedAtKill ?? 0) > 0) break;
        await sleep(5);
      }
    }
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(first.child);
    // The ingest went with it: EI's retries reach a new one (the survivor on PostgreSQL takes no calls).
    const after = await startService({ ROLES: testDatabase ? 'ingest,web' : 'ingest,worker,sender,web' }, port);
    const restartedAt = Date.now();
    await traffic;
    const watcher = second ?? after;
    let processedAt = 0;
    while (!processedAt) {
      if ((await pendingOf(watcher)) === 0) processedAt = Date.now();
      else await sleep(100);
    }
    // Held cancellations are released a little after their window.
    await sleep(7000);
    const reaped = reapings(watcher);
    await stopAll();

    const result = await withDatabase((database) => outcome(database));
    figures.workerKilled = {
      database: testDatabase ? 'PostgreSQL, a second worker running' : 'embedded, restarted at once',
      notifications: result.notifications,
      leasedAtKill: leasedAtKill ?? 'not readable (embedded)',
      released: reaped.map((r) => r.released),
      silentSecondsWhenReaped: reaped.flatMap((r) => r.silentMs.map((ms) => ms / 1000)),
      killToReleaseSeconds: reaped.length > 0 ? (reaped[0]!.time - killedAt) / 1000 : undefined,
      restartSeconds: testDatabase ? undefined : (restartedAt - killedAt) / 1000,
      killToBacklogProcessedSeconds: (processedAt - killedAt) / 1000,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      deadAfterSeconds: DEAD_AFTER_SECONDS,
      leaseSeconds: 3600,
    };
    expect(result).toMatchObject({
      notifications: 3 * citizens,
      pending: 0,
      dead: 0,
      confirmations: citizens,
      rebookings: citizens,
      cancellations: 0,
      messages: 2 * citizens,
      distinctMessages: 2 * citizens,
      inOrder: citizens,
      heldOpen: 0,
    });
    // Released by a live process's look at the heartbeats, not by the lease (an hour) running out.
    expect(reaped.length).toBeGreaterThan(0);
    expect(reaped.reduce((sum, r) => sum + (r.released.notifications ?? 0), 0)).toBeGreaterThan(0);
    if (leasedAtKill !== undefined) {
      expect(reaped[0]!.processes).toContain(victim);
      // Everything it held and had not finished (some of its batch may have been committed as it died).
      expect(reaped[0]!.released.notifications).toBeLessThanOrEqual(leasedAtKill);
      expect(reaped[0]!.silentMs[0]).toBeGreaterThanOrEqual(DEAD_AFTER_SECONDS * 1000);
    }
    expect(processedAt - killedAt).toBeLessThan(3600 * 1000);
  }, 600_000);

  it('When a worker is killed holding deletes, then their cancellations come after the rebooking window, not after the lease', async () => {
    answerBookings(producer, 5);
    const port = await freePort();
    const first = await startService({}, port);
    await registerSystem(first);
    const second = testDatabase ? await startService({ ROLES: 'worker' }) : undefined;
    const citizens = LONG ? 200 : 40;
    const held = Array.from({ length: citizens }, (_, i) => 2000 + i);
    const others = Array.from({ length: citizens }, (_, i) => 3000 + i);
    const post = (i: number, deleteFlag = false) => ({
      ...engagement({
        registeredResidentIdentification: citizen(i),
        logicalAddress: unitOf(i),
        sourceSystem: SYSTEM,
        businessObjectInstanceIdentifier: `HELD-${i}`,
      }),
      deleteFlag,
    });
    expect((await postNotification(first.url, notificationEnvelope(held.map((i) => post(i))))).resultCode).toBe('OK');
    while ((await pendingOf(first)) !== 0) await sleep(100);
    // The deletes arrive with other citizens' bookings whose details are slow: they are claimed in the
    // same round, and the worker dies with the deletes in hand.
    answerBookings(producer, 3000);
    expect(
      (
        await postNotification(
          first.url,
          notificationEnvelope([...held.map((i) => post(i, true)), ...others.map((i) => post(i))]),
        )
      ).resultCode,
    ).toBe('OK');
    const deliveredAt = Date.now();
    await sleep(1000);
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(first.child);
    answerBookings(producer, 5);
    const watcher = second ?? (await startService({}, port));
    let cancellations = 0;
    while (cancellations < citizens) {
      const text = await fetch(`${watcher.url}/metrics`).then((r) => r.text());
      cancellations = Number(
        text
          .split('\n')
          .find((l) => l.startsWith('ei_messages_created_total{kind="cancellation"}'))
          ?.split(' ')
          .at(-1) ?? 0,
      );
      if (cancellations < citizens) await sleep(100);
    }
    const releasedAt = Date.now();
    await stopAll();
    const result = await withDatabase((database) =>
      rows<{ kind: string; n: number }>(
        database.orm,
        sql`select kind, count(*)::int as n from inbox_message where cause like 'held:%' group by kind`,
      ),
    );
    figures.heldCancellations = {
      citizens,
      rebookWindowSeconds: 4,
      deliveryToAllCancellationsSeconds: (releasedAt - deliveredAt) / 1000,
      killToAllCancellationsSeconds: (releasedAt - killedAt) / 1000,
      leaseSeconds: 3600,
    };
    expect(result).toEqual([{ kind: 'cancellation', n: citizens }]);
    // The window counts from EI's delivery; a lease wait would have been an hour.
    expect(releasedAt - killedAt).toBeLessThan(3600 * 1000);
  }, 300_000);

  it('When a sender is SIGKILLed while SMS and e-mails are being handed over, then every citizen gets exactly one SMS and one e-mail Message-ID, counted at the providers', async () => {
    answerBookings(producer, 5);
    const twilio: FakeTwilio = await startFakeTwilio();
    // Slow providers: the kill lands while hand-overs are in flight. Every second SMS request is still
    // "in transit" (Twilio records it only later, and not at all if the sender went away); the others
    // are recorded at once and answered late. The SMTP server answers the end of DATA late.
    twilio.answerDelayMs = 1500;
    twilio.transitDelayMs = 1500;
    const smtp = await startSmtpServer(0, {
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address).join(','),
            messageId: /^Message-ID: *(.+)$/im.exec(raw)?.[1]?.trim() ?? '',
          });
          setTimeout(() => callback(), 1500);
        });
      },
    });
    const mails: Array<{ to: string; messageId: string }> = [];
    const providers = {
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: 'kills-twilio-token',
      TWILIO_FROM: '+46700000000',
      TWILIO_API_URL: twilio.url,
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    };
    try {
      const citizens = LONG ? 300 : 60;
      const port = await freePort();
      const first = await startService(providers, port);
      await registerSystem(first);
      const phone = (i: number) => `+4670${String(1_000_000 + i).slice(-7)}`;
      const address = (i: number) => `citizen${i}@example.se`;
      for (let i = 0; i < citizens; i++) {
        const token = await citizenToken(auth, citizen(5000 + i));
        const saved = await fetch(`${first.url}/api/citizen/settings`, {
          method: 'PUT',
          headers: { ...bearer(token), 'content-type': 'application/json' },
          body: JSON.stringify({
            sms: { enabled: true, phone: phone(i) },
            email: { enabled: true, address: address(i) },
          }),
        });
        expect(saved.status).toBe(200);
      }
      const second = testDatabase ? await startService({ ...providers, ROLES: 'worker,sender' }) : undefined;
      for (let block = 0; block < citizens; block += 20) {
        const transactions = Array.from({ length: Math.min(20, citizens - block) }, (_, k) =>
          engagement({
            registeredResidentIdentification: citizen(5000 + block + k),
            logicalAddress: unitOf(block + k),
            sourceSystem: SYSTEM,
            businessObjectInstanceIdentifier: `SEND-${block + k}`,
          }),
        );
        expect((await postNotification(first.url, notificationEnvelope(transactions))).resultCode).toBe('OK');
      }
      // Kill the (first) sender once a quarter of the SMS have reached Twilio: others are in flight.
      while (twilio.requests.filter((r) => r.method === 'POST').length < citizens / 4) await sleep(20);
      // A moment more: the round's e-mails are at the server, waiting for its 250.
      await sleep(300);
      first.child.kill('SIGKILL');
      const killedAt = Date.now();
      await exited(first.child);
      // At the kill: SMS Twilio has recorded but not yet answered, and e-mails whose DATA the server took.
      const inFlightAtKill = {
        smsAtTwilio: twilio.messages.length,
        smsRequests: twilio.requests.filter((r) => r.method === 'POST').length,
        emailsAtServer: mails.length,
      };
      let restartedAt = 0;
      if (!testDatabase) {
        await startService(providers, port);
        restartedAt = Date.now();
      }
      // Done when every citizen has an SMS and an e-mail, and the providers have been quiet a while.
      let settledAt = 0;
      let lastCount = -1;
      let quietSince = Date.now();
      while (true) {
        const count = twilio.requests.length + mails.length;
        const everyone =
          new Set(twilio.messages.map((m) => m.to)).size === citizens &&
          new Set(mails.map((m) => m.to)).size === citizens;
        if (everyone && !settledAt) settledAt = Date.now();
        if (count !== lastCount) {
          lastCount = count;
          quietSince = Date.now();
        } else if (everyone && Date.now() - quietSince > 5000) break;
        await sleep(200);
      }
      const reaped = services.flatMap(reapings);
      const logged = services.flatMap((service) => service.lines).join('\n');
      await stopAll();
      // Settling deliveries in doubt logs no number or address.
      expect(logged).toContain('a delivery in doubt is settled');
      expect(logged).not.toMatch(/\+4670\d{7}|citizen\d+@example\.se/);

      const smsPerCitizen = new Map<string, number>();
      for (const message of twilio.messages)
        smsPerCitizen.set(message.to ?? '', (smsPerCitizen.get(message.to ?? '') ?? 0) + 1);
      const idsPerCitizen = new Map<string, Set<string>>();
      for (const mail of mails)
        idsPerCitizen.set(mail.to, (idsPerCitizen.get(mail.to) ?? new Set()).add(mail.messageId));
      const doubts = await withDatabase((database) =>
        rows<{ channel: string; settled: string; n: number }>(
          database.orm,
          sql`select channel, doubt_settled_by as settled, count(*)::int as n from notification_delivery
               where doubt_settled_by is not null group by channel, doubt_settled_by order by channel, doubt_settled_by`,
        ),
      );
      const [lastSettled] = await withDatabase((database) =>
        rows<{ ms: number | string | null }>(
          database.orm,
          sql`select floor(extract(epoch from max(updated_at)) * 1000)::bigint as ms from notification_delivery where doubt_settled_by is not null`,
        ),
      );
      const open = await withDatabase((database) =>
        rows<{ status: string; n: number }>(
          database.orm,
          sql`select status, count(*)::int as n from notification_delivery group by status order by status`,
        ),
      );
      figures.senderKilled = {
        database: testDatabase ? 'PostgreSQL, a second sender running' : 'embedded, restarted at once',
        citizens,
        inFlightAtKill,
        deliveriesInDoubt: doubts,
        deliveryStatuses: open,
        smsAtTwilio: twilio.messages.length,
        smsLookups: twilio.requests.filter((r) => r.method === 'GET').length,
        emailsReceived: mails.length,
        emailDuplicatesSameMessageId:
          mails.length - [...idsPerCitizen.values()].reduce((sum, ids) => sum + ids.size, 0),
        restartSeconds: restartedAt ? (restartedAt - killedAt) / 1000 : undefined,
        killToLastInDoubtSettledSeconds: (Number(lastSettled?.ms ?? 0) - killedAt) / 1000,
        killToAllHandedOverSeconds: (settledAt - killedAt) / 1000,
        reaped: reaped.map((r) => r.released),
      };
      // Counted at the providers: one SMS per citizen, one e-mail Message-ID per citizen.
      expect(smsPerCitizen.size).toBe(citizens);
      expect([...smsPerCitizen.values()].every((n) => n === 1)).toBe(true);
      expect(idsPerCitizen.size).toBe(citizens);
      expect([...idsPerCitizen.values()].every((ids) => ids.size === 1)).toBe(true);
      // The kill did land mid-send, and nothing is left in doubt or unknown.
      expect(doubts.reduce((sum, row) => sum + row.n, 0)).toBeGreaterThan(0);
      expect(open.filter((row) => !['queued', 'sent'].includes(row.status))).toEqual([]);
    } finally {
      await twilio.close();
      await smtp.close();
    }
  }, 600_000);
});
