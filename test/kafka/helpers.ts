// Shared by the Kafka tests and bench:kafka (what the tests are given: setup.ts): the
// service as real child processes of src/main.ts with ROLES, and the scenario's traffic and checks.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { Kafka, logLevel } from 'kafkajs';
import { sourceSystems } from '../../src/activation-registry/schema.js';
import { rows, type Database } from '../../src/db/database.js';
import { kafkaNames } from '../../src/queue/kafka.js';
import { sampleTimeslot, type BookingProducer } from '../helpers/booking-producer.js';
import { engagement, notificationEnvelope, postNotification, type EngagementInput } from '../helpers/soap.js';
import { freePort } from '../helpers/net.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BROKER_SCRIPT = path.join(ROOT, 'test/kafka/broker.sh');
export const SYSTEM = 'SE2321000016-KPAS';
const UNITS = 20;

export { freePort };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function citizen(i: number): string {
  return `19700101${String(i).padStart(4, '0')}`;
}

export function unitOf(i: number): string {
  return `SE2321000016-KVC${i % UNITS}`;
}

/** Booking ids: A is the first booking, B the one it is rebooked to (delete of A + new B, one call). */
export function bookingA(i: number): string {
  return `K-${i}-A`;
}
export function bookingB(i: number): string {
  return `K-${i}-B`;
}

/** The producer answers A and B with different times, the same for every ask: deterministic outcomes. */
export function answerBookings(producer: BookingProducer, delayMs: number): void {
  producer.handle((request) => ({
    delayMs,
    details: sampleTimeslot({
      healthcareFacility: request.logicalAddress ?? 'unknown',
      subjectOfCare: request.actorId ?? 'unknown',
      bookingId: request.bookingId ?? 'unknown',
      startTimeInclusive: request.bookingId?.endsWith('-B') ? '20270116100000' : '20270115093000',
      endTimeExclusive: request.bookingId?.endsWith('-B') ? '20270116103000' : '20270115100000',
    }),
  }));
}

export interface Service {
  child: ChildProcess;
  url: string;
  roles: string;
  /** The last lines it wrote (for a failing test's message). */
  output: string[];
}

export interface ServiceEnvironment {
  databaseUrl: string;
  brokers: string;
  topicPrefix: string;
  producerUrl: string;
  extra?: Record<string, string>;
}

/** The real service (src/main.ts) as a child process with the given ROLES; resolves once /readyz answers 200. */
export async function startService(roles: string, environment: ServiceEnvironment): Promise<Service> {
  // A PORT in `extra` is kept (a process started again where EI calls it); otherwise any free port.
  const port = Number(environment.extra?.PORT ?? 0) || (await freePort());
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    ROLES: roles,
    DATABASE_URL: environment.databaseUrl,
    KAFKA_BROKERS: environment.brokers,
    KAFKA_TOPIC_PREFIX: environment.topicPrefix,
    NTJP_GETBOOKINGDETAILS_URL: environment.producerUrl,
    CONSUMER_HSA_ID: 'SE-TEST-INBOX',
    // Hundreds of posts from care units new to this database: not a flood-guard test (the guard would hold them).
    FLOOD_GUARD_THRESHOLD: '0',
    AUTH_JWT_SECRET: 'kafka-test-secret-kafka-test-secret-0123456789',
    // Long enough that a delete and the new booking of one call always meet inside it.
    REBOOK_WINDOW_SECONDS: '3600',
    LOG_LEVEL: 'warn',
    ...environment.extra,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the ${roles} process ended (${child.exitCode}): ${output.slice(-10).join('\n')}`);
    const ready = await fetch(`${url}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) return { child, url, roles, output };
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`the ${roles} process did not become ready: ${output.slice(-10).join('\n')}`);
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function stopService(service: Service, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill(signal);
  await exited(service.child);
}

export function newTopicPrefix(): string {
  return `ei-test-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export async function registerSourceSystem(database: Database): Promise<void> {
  await database.orm
    .insert(sourceSystems)
    .values({ environment: 'qa', hsaId: SYSTEM, name: 'Kafka test PAS', mode: 'active' });
}

function newBooking(i: number): EngagementInput {
  return engagement({
    registeredResidentIdentification: citizen(i),
    logicalAddress: unitOf(i),
    sourceSystem: SYSTEM,
    businessObjectInstanceIdentifier: bookingA(i),
    mostRecentContent: '20261122093000',
  });
}

/** The second call for a citizen: booking A deleted and booking B added, in that order. */
function rebooked(i: number): EngagementInput[] {
  return [
    { ...newBooking(i), deleteFlag: true, mostRecentContent: '20261122100000' },
    engagement({
      registeredResidentIdentification: citizen(i),
      logicalAddress: unitOf(i),
      sourceSystem: SYSTEM,
      businessObjectInstanceIdentifier: bookingB(i),
      mostRecentContent: '20261122100000',
    }),
  ];
}

export interface TrafficReport {
  calls: number;
  /** Answers other than OK (soap:Server while Kafka is away), each retried like EI does. */
  refused: number;
  /** The faultcodes of the refused answers, each once (no fault: the connection failed). */
  faultcodes: string[];
}

/**
 * Sends `citizens` citizens' traffic in blocks of `perBlock`: each block one call with their new
 * bookings, then (after its answer) one call with each citizen's delete of A and new booking B; `callers`
 * blocks at a time. A refused call is retried after a short pause, as EI does, until it is accepted.
 */
export async function sendTraffic(
  ingestUrl: () => string,
  citizens: number,
  /** `report`: filled in as the traffic goes, so that a test can watch it. */
  options: { perBlock?: number; callers?: number; first?: number; report?: TrafficReport } = {},
): Promise<TrafficReport> {
  const perBlock = options.perBlock ?? 100;
  const callers = options.callers ?? 4;
  const first = options.first ?? 0;
  const report: TrafficReport = options.report ?? { calls: 0, refused: 0, faultcodes: [] };
  const blocks = Math.ceil(citizens / perBlock);
  let next = 0;
  async function call(transactions: EngagementInput[]): Promise<void> {
    const body = notificationEnvelope(transactions);
    for (let attempt = 0; ; attempt++) {
      report.calls++;
      const answer = await postNotification(ingestUrl(), body).catch((error: unknown) => ({
        resultCode: undefined,
        faultcode: 'no answer',
        faultstring: String(error),
      }));
      if (answer.resultCode === 'OK') return;
      report.refused++;
      const faultcode = answer.faultcode ?? 'no fault';
      if (!report.faultcodes.includes(faultcode)) report.faultcodes.push(faultcode);
      if (attempt > 600) throw new Error(`a call was refused ${attempt} times: ${answer.faultstring ?? ''}`);
      await sleep(250);
    }
  }
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let block = next++; block < blocks; block = next++) {
        const ids = Array.from(
          { length: Math.min(perBlock, citizens - block * perBlock) },
          (_, k) => first + block * perBlock + k,
        );
        await call(ids.map(newBooking));
        await call(ids.flatMap(rebooked));
      }
    }),
  );
  return report;
}

export interface Outcome {
  notifications: number;
  pending: number;
  dead: number;
  confirmations: number;
  rebookings: number;
  cancellations: number;
  messages: number;
  /** Distinct (citizen, kind): equal to messages when nothing was written twice. */
  distinctMessages: number;
  /** Citizens whose confirmation has a lower message id than their rebooking. */
  inOrder: number;
  requests: number;
  heldOpen: number;
}

export async function outcome(database: Database): Promise<Outcome> {
  const [row] = await rows<Record<keyof Outcome, number>>(
    database.orm,
    sql`select (select count(*)::int from inbound_notification) as notifications,
               (select count(*)::int from inbound_notification where status = 'pending') as pending,
               (select count(*)::int from inbound_notification where status = 'dead') as dead,
               (select count(*)::int from inbox_message where kind = 'booking_confirmation') as confirmations,
               (select count(*)::int from inbox_message where kind = 'rebooking') as rebookings,
               (select count(*)::int from inbox_message where kind = 'cancellation') as cancellations,
               (select count(*)::int from inbox_message) as messages,
               (select count(*)::int from (select distinct resident, kind from inbox_message) d) as "distinctMessages",
               (select count(*)::int from (
                  select resident from inbox_message group by resident
                  having min(id) filter (where kind = 'booking_confirmation') < min(id) filter (where kind = 'rebooking')) o) as "inOrder",
               (select count(*)::int from notification_request) as requests,
               (select count(*)::int from held_cancellation where status = 'held') as "heldOpen"`,
  );
  return row!;
}

/** Waits until every expected message is there and nothing is pending, then a little longer (late duplicates). */
export async function waitForMessages(database: Database, citizens: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const [row] = await rows<{ messages: number; pending: number }>(
      database.orm,
      sql`select (select count(*)::int from inbox_message) as messages,
                 (select count(*)::int from inbound_notification where status = 'pending') as pending`,
    );
    if (row && row.messages >= 2 * citizens && row.pending === 0) return Date.now() - started;
    await sleep(200);
  }
  return Date.now() - started;
}

/** Records on the topic, and records the workers' group has committed (both summed over partitions). */
export async function topicProgress(
  brokers: string,
  topicPrefix: string,
): Promise<{ written: number; committed: number; members: number }> {
  const names = kafkaNames(topicPrefix);
  const kafka = new Kafka({ clientId: 'ei-inbox-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(names.topic);
    const written = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    const [committedTopic] = await admin.fetchOffsets({ groupId: names.group, topics: [names.topic] });
    const committed = (committedTopic?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    const { groups } = await admin.describeGroups([names.group]);
    return { written, committed, members: groups[0]?.members.length ?? 0 };
  } finally {
    await admin.disconnect();
  }
}
