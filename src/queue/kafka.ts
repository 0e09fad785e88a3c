// The Kafka side of the notification queue (KAFKA_BROKERS set). The database stays the ledger of what was
// accepted and what is done; Kafka only distributes the fresh work to the consumer group of workers:
//   - ingest: one record per queued notification, keyed by the citizen (so that one citizen's
//     notifications share a partition and keep their order), acks from all in-sync replicas, idempotent
//     producer; the intake commits its transaction only after the send succeeded;
//   - worker: a consumer group; each chunk of a batch is claimed in the database by id (the ordering rule
//     of the table queue), processed by the engine, and only then are the offsets committed.
// What a consumer cannot claim (an earlier item of the citizen waits for a retry, a worker died holding a
// lease, the ingest's commit never happened) stays pending in the table, where the engine's table loop
// takes it. Nothing is lost (a row stays pending until its effects are committed) and nothing happens
// twice (the effects transaction is fenced on status 'pending' and the lease).
import { createHash } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import type { Database } from '../db/index.js';
import type { Logger } from '../logging.js';
import type { QueuedRef } from '../process-notifications/index.js';
import { kafkaLogLevel } from './kafka-log.js';
import { claimNotificationsById, existingNotificationIds, type QueuedNotification } from './in-database.js';

/** The topic of accepted notifications and the workers' consumer group, from KAFKA_TOPIC_PREFIX. */
export interface KafkaNames {
  topic: string;
  group: string;
}

export function kafkaNames(prefix = 'ei-inbox'): KafkaNames {
  return { topic: `${prefix}.notifications`, group: `${prefix}.workers` };
}
/** Partitions of a topic we create: the most workers that can share the fresh work. */
export const TOPIC_PARTITIONS = 8;

/**
 * The record key of a citizen: a hash, so that identity numbers are not written to the broker's logs in
 * clear (the key only has to be the same for every notification of one citizen).
 */
export function citizenKey(resident: string): string {
  return createHash('sha256').update(`ei-inbox:citizen:${resident}`).digest('hex').slice(0, 32);
}

interface NotificationRecord {
  /** inbound_notification.id: the worker reads everything else from the database. */
  id: number;
}

export function encodeNotification(ref: QueuedRef): { key: string; value: string } {
  const record: NotificationRecord = { id: ref.id };
  return { key: citizenKey(ref.resident), value: JSON.stringify(record) };
}

export function decodeNotification(value: Buffer | null): number | undefined {
  if (!value) return undefined;
  try {
    const record = JSON.parse(value.toString('utf8')) as Partial<NotificationRecord>;
    return typeof record.id === 'number' && Number.isSafeInteger(record.id) && record.id > 0 ? record.id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A kafkajs client whose own log lines go to our logger, at the level kafkaLogLevel gives them (routine
 * group coordination is not an error).
 */
export function createKafka(brokers: readonly string[], log: Logger, clientId = 'ei-inbox'): Kafka {
  const kafkaLog = log.child({ component: 'kafka' });
  return new Kafka({
    clientId,
    brokers: [...brokers],
    // Fail fast when the broker is away: the ingest answers soap:Server and EI retries later.
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    logLevel: logLevel.INFO,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const fields = { namespace: entry.namespace, broker: rest.broker as unknown, error: rest.error as unknown };
      kafkaLog[kafkaLogLevel({ level: entry.level, message, error: rest.error })](fields, message);
    },
  });
}

/** Creates the topic if it is missing (operators may create it beforehand with more partitions). */
export async function ensureTopics(kafka: Kafka, names: KafkaNames): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(names.topic)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: names.topic, numPartitions: TOPIC_PARTITIONS }],
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Whether a broker answers, for /readyz. */
export async function pingKafka(kafka: Kafka): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

export interface NotificationPublisher {
  /** Resolves once every record is written and acknowledged by all in-sync replicas. */
  publish(refs: readonly QueuedRef[]): Promise<void>;
  close(): Promise<void>;
}

export async function startNotificationPublisher(kafka: Kafka, names: KafkaNames): Promise<NotificationPublisher> {
  const producer: Producer = kafka.producer({
    // Java-compatible murmur2 on the key: the same citizen lands in the same partition as with other clients.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    // Required for the idempotent producer to keep order across retries.
    maxInFlightRequests: 1,
    // Bounded: a call waits a few seconds at most, then EI is told to retry. (The idempotent producer
    // warns that limited retries weaken its guarantee; a record written twice is harmless here, the
    // database claims each notification once.)
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  await ensureTopics(kafka, names);
  await producer.connect();
  return {
    async publish(refs) {
      if (refs.length === 0) return;
      await producer.send({ topic: names.topic, acks: -1, timeout: 10_000, messages: refs.map(encodeNotification) });
    },
    async close() {
      await producer.disconnect();
    },
  };
}

export interface NotificationConsumerOptions {
  kafka: Kafka;
  names: KafkaNames;
  database: Database;
  log: Logger;
  /** This process's worker id; each partition in hand works under `<workerId>/k<partition>`. */
  workerId: string;
  leaseMs: number;
  /** The engine's processClaimed: resolves once the effects are committed (or the items put back). */
  process: (claimed: readonly QueuedNotification[], workerId: string) => Promise<number>;
  /** Records claimed and processed together. Default 500. */
  chunkSize?: number;
  /** Partitions worked on side by side in this process. Default 2. */
  partitionsConcurrently?: number;
  /** How long the group waits for a silent worker before handing its partitions to another. Default 10 s. */
  sessionTimeoutMs?: number;
}

export interface NotificationConsumer {
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a record may arrive before the ingest's commit of its row becomes visible. */
const VISIBILITY_WAIT_MS = 2_000;

export async function startNotificationConsumer(options: NotificationConsumerOptions): Promise<NotificationConsumer> {
  const { kafka, names, database, log } = options;
  const chunkSize = options.chunkSize ?? 500;
  const consumer: Consumer = kafka.consumer({
    groupId: names.group,
    sessionTimeout: options.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: 1_000,
    // Small fetches: a batch is worked through before the session times out.
    maxBytesPerPartition: 256 * 1024,
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 5_000 },
  });
  consumer.on(consumer.events.CRASH, (event) => {
    log.error(
      { reason: event.payload.error.message, restart: event.payload.restart },
      'kafka consumer stopped on an error',
    );
  });

  /** Claims and processes the notifications of one chunk; throws if the database fails (not committed). */
  async function handle(ids: number[], workerId: string): Promise<void> {
    // The ingest commits right after Kafka acknowledged: a record can be here a moment before its row.
    const deadline = Date.now() + VISIBILITY_WAIT_MS;
    for (
      let seen = await existingNotificationIds(database, ids);
      seen.size < ids.length;
      seen = await existingNotificationIds(database, ids)
    ) {
      if (Date.now() >= deadline) {
        // The ingest rolled back after the send (nothing was acknowledged to EI), or its commit is slow:
        // the table loop takes a late row.
        log.info({ records: ids.length - seen.size }, 'kafka records without a committed notification: skipped');
        ids = ids.filter((id) => seen.has(id));
        break;
      }
      await sleep(25);
    }
    const claimed = await claimNotificationsById(database, ids, workerId, options.leaseMs);
    if (claimed.length > 0) await options.process(claimed, workerId);
  }

  await ensureTopics(kafka, names);
  await consumer.connect();
  await consumer.subscribe({ topics: [names.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConcurrently ?? 2,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      const workerId = `${options.workerId}/k${batch.partition}`;
      for (let start = 0; start < batch.messages.length; start += chunkSize) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(start, start + chunkSize);
        const ids: number[] = [];
        for (const message of chunk) {
          const id = decodeNotification(message.value);
          if (id === undefined)
            log.warn(
              { partition: batch.partition, offset: message.offset },
              'kafka record without a notification id: skipped',
            );
          else ids.push(id);
        }
        // kafkajs heartbeats only when asked: keep the membership while a slow producer holds the chunk.
        const beat = setInterval(() => void heartbeat().catch(() => {}), 2_000);
        try {
          await handle(ids, workerId);
        } finally {
          clearInterval(beat);
        }
        // Only now: the chunk's effects are committed (or its items are back in the table for later).
        const last = chunk[chunk.length - 1]!.offset;
        resolveOffset(last);
        await commitOffsetsIfNecessary({
          topics: [
            {
              topic: batch.topic,
              partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }],
            },
          ],
        });
        await heartbeat();
      }
    },
  });

  return {
    async stop() {
      await consumer.disconnect();
    },
  };
}
