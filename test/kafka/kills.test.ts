// Kills in the Kafka layout (real broker, real child processes of src/main.ts with ROLES, one PostgreSQL):
//   - the ingest SIGKILLed under a stream of calls and started again: nothing acknowledged is lost, nothing
//     is produced twice (EI's retries of the calls that got no answer are redeliveries);
//   - one of two workers SIGKILLed with notifications in hand, WORKER_LEASE_SECONDS an hour: the other
//     releases them by the heartbeat and finishes;
//   - one of two senders SIGKILLed while SMS and e-mails are handed over: every citizen gets exactly one
//     SMS and one e-mail Message-ID, counted at the providers (fake Twilio with its message list, SMTP).
// The broker and PostgreSQL come from the kafka project's global setup (global-setup.ts); kafkajs's
// routine coordination during all of this is never logged as an error.
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { saveCitizenSettings } from '../../src/channels/settings.js';
import { rows } from '../../src/db/database.js';
import { startBookingProducer, type BookingProducer } from '../helpers/booking-producer.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { engagement, notificationEnvelope, postNotification } from '../helpers/soap.js';
import { startFakeTwilio, startSmtpServer } from '../channels/helpers.js';
import {
  answerBookings,
  citizen,
  freePort,
  newTopicPrefix,
  outcome,
  registerSourceSystem,
  sendTraffic,
  sleep,
  startService,
  stopService,
  SYSTEM,
  topicProgress,
  unitOf,
  waitForMessages,
  type Service,
  type ServiceEnvironment,
  type TrafficReport,
} from './helpers.js';
import { kafkaSetup } from './setup.js';

const setup = kafkaSetup();
const CITIZENS = 1000;
const LIVENESS = { WORKER_HEARTBEAT_SECONDS: '1', WORKER_DEAD_AFTER_SECONDS: '3', WORKER_LEASE_SECONDS: '3600' };
const figures: Record<string, unknown> = {};

let producer: BookingProducer;
let services: Service[] = [];
let database: TestDatabase | undefined;

beforeAll(async () => {
  if (!setup.ready) return;
  producer = await startBookingProducer();
  answerBookings(producer, 20);
});

afterEach(async () => {
  // No kafkajs line about routine group coordination at error level, in any process of the scenario.
  const routineErrors = services
    .flatMap((service) => service.output)
    .filter(
      (line) =>
        line.includes('"component":"kafka"') && line.includes('"level":50') && /rebalanc|coordinator/i.test(line),
    );
  await Promise.all(services.map((service) => stopService(service, 'SIGKILL')));
  services = [];
  await database?.close();
  database = undefined;
  expect(routineErrors).toEqual([]);
});

afterAll(async () => {
  await producer?.close();
  if (setup.ready) console.log(`Kafka kill figures:\n${JSON.stringify(figures, null, 2)}`);
});

async function scenario(): Promise<ServiceEnvironment> {
  if (!setup.ready) throw new Error('unreachable');
  database = await openTestDatabase(setup.databaseUrl);
  await registerSourceSystem(database);
  return {
    databaseUrl: database.url!,
    brokers: setup.brokers,
    topicPrefix: newTopicPrefix(),
    producerUrl: producer.url,
  };
}

// 'warn': the reaping line and any kafkajs line at error level; at 'info' the engine's decision lines
// (one per notification) would push them out of the last 200 lines kept per process.
async function start(
  roles: string,
  environment: ServiceEnvironment,
  extra: Record<string, string> = {},
): Promise<Service> {
  const service = await startService(roles, { ...environment, extra: { LOG_LEVEL: 'warn', ...LIVENESS, ...extra } });
  services.push(service);
  return service;
}

async function count(query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await rows<{ n: number }>(database!.orm, query);
  return Number(row?.n ?? 0);
}

function expectExactlyOnceInOrder(result: Awaited<ReturnType<typeof outcome>>, citizens: number): void {
  expect(result).toEqual({
    notifications: 3 * citizens,
    pending: 0,
    dead: 0,
    confirmations: citizens,
    rebookings: citizens,
    cancellations: 0,
    messages: 2 * citizens,
    distinctMessages: 2 * citizens,
    inOrder: citizens,
    requests: 2 * citizens,
    heldOpen: 0,
  });
}

describe.skipIf(!setup.ready)(`kills on Kafka${setup.ready ? '' : ` (skipped: ${setup.reason})`}`, () => {
  it('When the ingest is SIGKILLed under a stream of calls and started again, then every message exists exactly once and in order', async () => {
    const environment = await scenario();
    const port = await freePort();
    let ingest = await start('ingest', environment, { PORT: String(port) });
    await start('worker', environment);
    await start('worker', environment);

    const report: TrafficReport = { calls: 0, refused: 0, faultcodes: [] };
    const traffic = sendTraffic(() => ingest.url, CITIZENS, { perBlock: 50, callers: 4, report });
    while (report.calls < CITIZENS / 50) await sleep(20);
    await stopService(ingest, 'SIGKILL');
    const killedAt = Date.now();
    const callsAtKill = report.calls;
    ingest = await start('ingest', environment, { PORT: String(port) });
    const restartSeconds = (Date.now() - killedAt) / 1000;
    await traffic;
    await waitForMessages(database!, CITIZENS, 240_000);
    await sleep(1500);
    const result = await outcome(database!);
    const progress = await topicProgress(setup.ready ? setup.brokers : '', environment.topicPrefix);
    figures.ingestKilled = {
      citizens: CITIZENS,
      callsAtKill,
      calls: report.calls,
      callsWithoutAnswerRetried: report.refused,
      restartSeconds,
      recordsOnTopic: progress.written,
    };
    expectExactlyOnceInOrder(result, CITIZENS);
    // The kill did cut calls short (retried by the traffic, as EI does).
    expect(report.refused).toBeGreaterThan(0);
    // Records of calls that were cut after Kafka's ack but before the commit are on the topic, unclaimed.
    expect(progress.written).toBeGreaterThanOrEqual(3 * CITIZENS);
  }, 400_000);

  it('When one of two workers is SIGKILLed with notifications in hand, then the other releases them by the heartbeat (the lease is an hour) and every message exists exactly once', async () => {
    const environment = await scenario();
    const ingest = await start('ingest', environment);
    await start('worker', environment);
    const victim = await start('worker', environment);

    const traffic = sendTraffic(() => ingest.url, CITIZENS, { perBlock: 50 });
    await (async () => {
      while ((await count(sql`select count(*)::int as n from inbox_message`)) < CITIZENS / 2) await sleep(50);
    })();
    const [holder] = await rows<{ process_id: string }>(
      database!.orm,
      sql`select process_id from lease_holder where process_id like ${`%:${victim.child.pid}:%`}`,
    );
    const leased = await count(
      sql`select count(*)::int as n from inbound_notification where status = 'pending' and lease_until > now() and split_part(lease_owner, '/', 1) = ${holder?.process_id ?? ''}`,
    );
    await stopService(victim, 'SIGKILL');
    const killedAt = Date.now();
    const report = await traffic;
    expect(report.refused).toBe(0);
    await waitForMessages(database!, CITIZENS, 240_000);
    const processedAt = Date.now();
    await sleep(1500);
    expectExactlyOnceInOrder(await outcome(database!), CITIZENS);
    const survivor = services.find((service) => service.roles === 'worker' && service !== victim)!;
    // When the victim held nothing at the kill, the backlog can be done before the survivor notices the
    // missing heartbeat: wait for the reaping itself (it needs WORKER_DEAD_AFTER_SECONDS; a minute is plenty).
    for (
      let waited = 0;
      waited < 60_000 && !survivor.output.some((line) => line.includes('taken for dead'));
      waited += 250
    )
      await sleep(250);
    const reaped = survivor.output
      .filter((line) => line.includes('taken for dead'))
      .map((line) => JSON.parse(line) as { time: number; released: Record<string, number>; processes: string[] });
    figures.workerKilled = {
      citizens: CITIZENS,
      leasedAtKill: leased,
      released: reaped.map((r) => r.released),
      killToReleaseSeconds: reaped.length > 0 ? (reaped[0]!.time - killedAt) / 1000 : undefined,
      killToAllMessagesSeconds: (processedAt - killedAt) / 1000,
    };
    expect(reaped.map((r) => r.processes).flat()).toContain(holder?.process_id);
    expect(processedAt - killedAt).toBeLessThan(3600 * 1000);
  }, 400_000);

  it('When one of two senders is SIGKILLed while handing over SMS and e-mails, then every citizen gets exactly one SMS and one e-mail Message-ID, counted at the providers', async () => {
    const environment = await scenario();
    const twilio = await startFakeTwilio();
    twilio.answerDelayMs = 1500;
    twilio.transitDelayMs = 1500;
    const mails: Array<{ to: string; messageId: string }> = [];
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
    try {
      const citizens = 100;
      const providers = {
        TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000002',
        TWILIO_AUTH_TOKEN: 'kafka-kills-token',
        TWILIO_FROM: '+46700000000',
        TWILIO_API_URL: twilio.url,
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        NOTIFY_DIGEST_SECONDS: '0',
        SMS_QUIET_HOURS: '',
        SMS_DAILY_CAP: '50',
      };
      for (let i = 0; i < citizens; i++) {
        await saveCitizenSettings(database!, citizen(6000 + i), {
          sms: { enabled: true, phone: `+4670${String(2_000_000 + i).slice(-7)}` },
          email: { enabled: true, address: `kafka${i}@example.se` },
        });
      }
      const ingest = await start('ingest,worker', environment, providers);
      const victim = await start('sender', environment, providers);
      await start('sender', environment, providers);
      for (let block = 0; block < citizens; block += 25) {
        const transactions = Array.from({ length: 25 }, (_, k) =>
          engagement({
            registeredResidentIdentification: citizen(6000 + block + k),
            logicalAddress: unitOf(block + k),
            sourceSystem: SYSTEM,
            businessObjectInstanceIdentifier: `KSEND-${block + k}`,
          }),
        );
        expect((await postNotification(ingest.url, notificationEnvelope(transactions))).resultCode).toBe('OK');
      }
      const [holder] = await rows<{ process_id: string }>(
        database!.orm,
        sql`select process_id from lease_holder where process_id like ${`%:${victim.child.pid}:%`}`,
      );
      const sendingOf = () =>
        count(
          sql`select count(*)::int as n from notification_delivery where status = 'sending' and split_part(lease_owner, '/', 1) = ${holder?.process_id ?? ''}`,
        );
      while ((await sendingOf()) === 0) await sleep(20);
      await sleep(300);
      const inHand = await sendingOf();
      await stopService(victim, 'SIGKILL');
      const killedAt = Date.now();
      const done = () =>
        count(sql`select count(*)::int as n from notification_delivery where status in ('queued', 'sent')`);
      while ((await done()) < 2 * citizens) await sleep(200);
      const settledAt = Date.now();
      await sleep(5000);

      const smsPerNumber = new Map<string, number>();
      for (const message of twilio.messages)
        smsPerNumber.set(message.to ?? '', (smsPerNumber.get(message.to ?? '') ?? 0) + 1);
      const idsPerAddress = new Map<string, Set<string>>();
      for (const mail of mails)
        idsPerAddress.set(mail.to, (idsPerAddress.get(mail.to) ?? new Set()).add(mail.messageId));
      const doubts = await rows<{ channel: string; settled: string; n: number }>(
        database!.orm,
        sql`select channel, doubt_settled_by as settled, count(*)::int as n from notification_delivery where doubt_settled_by is not null group by 1, 2 order by 1, 2`,
      );
      figures.senderKilled = {
        citizens,
        deliveriesInHandAtKill: inHand,
        deliveriesInDoubt: doubts,
        smsAtTwilio: twilio.messages.length,
        emailsReceived: mails.length,
        emailDuplicatesSameMessageId:
          mails.length - [...idsPerAddress.values()].reduce((sum, ids) => sum + ids.size, 0),
        killToAllHandedOverSeconds: (settledAt - killedAt) / 1000,
      };
      expect(smsPerNumber.size).toBe(citizens);
      expect([...smsPerNumber.values()].every((n) => n === 1)).toBe(true);
      expect(idsPerAddress.size).toBe(citizens);
      expect([...idsPerAddress.values()].every((ids) => ids.size === 1)).toBe(true);
      // What it had in hand and not yet recorded: each in doubt, each settled.
      expect(doubts.reduce((sum, row) => sum + row.n, 0)).toBeGreaterThan(0);
      expect(doubts.reduce((sum, row) => sum + row.n, 0)).toBeLessThanOrEqual(inHand);
      expect(
        await count(sql`select count(*)::int as n from notification_delivery where status not in ('queued', 'sent')`),
      ).toBe(0);
    } finally {
      await twilio.close();
      await smtp.close();
    }
  }, 400_000);
});
