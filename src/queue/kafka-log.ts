// The level at which one of kafkajs's own log lines is written to ours. kafkajs logs routine group
// coordination at `error` (a heartbeat answered "the group is rebalancing" on every deploy, "the
// coordinator is loading" after a broker restart), which would page whoever alerts on errors. Here:
// routine coordination is `info`, transient cluster states that kafkajs retries by itself are `warn`,
// and everything else kafkajs calls an error (connections failing, a consumer crashing, our batch
// handler throwing) stays `error`. Pure and table-tested (test/kafka/log-levels.test.ts).

export type KafkaLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What kafkajs hands a log creator, reduced to what decides the level. */
export interface KafkaLogLine {
  /** kafkajs's level: logLevel.ERROR (1), WARN (2), INFO (4), DEBUG (5). */
  level: number;
  message: string;
  /** The `error` field of the entry (a broker's error message), if any. */
  error?: unknown;
}

/** Texts (kafkajs's messages and Kafka's protocol error messages) of routine group coordination. */
const COORDINATION = [
  'the group is rebalancing', // REBALANCE_IN_PROGRESS, and the runner's "re-joining"
  'the coordinator is loading', // GROUP_LOAD_IN_PROGRESS (COORDINATOR_LOAD_IN_PROGRESS)
  'the group coordinator is not available', // GROUP_COORDINATOR_NOT_AVAILABLE
  'not the correct coordinator for this group', // NOT_COORDINATOR_FOR_GROUP
  'the coordinator is not aware of this member', // UNKNOWN_MEMBER_ID: the member re-joins
  'specified group generation id is not valid', // ILLEGAL_GENERATION: the member re-joins
  'needs to have a valid member id', // MEMBER_ID_REQUIRED: part of joining
  'consumer has joined the group',
  'resync group',
] as const;

/** Transient states of the cluster that kafkajs retries by itself (a broker restarting, a leader moving). */
const TRANSIENT = [
  'in the middle of a leadership election', // LEADER_NOT_AVAILABLE
  'not the leader for that topic-partition', // NOT_LEADER_FOR_PARTITION
  'leader epoch in the request is older', // FENCED_LEADER_EPOCH
  'the preferred leader was not available',
  'does not host this topic-partition', // UNKNOWN_TOPIC_OR_PARTITION while a topic is being created
  'not aware of all assigned partitions',
] as const;

/** Only this much of a text is looked at: the values come from outside (a broker's answer). */
const MAX_TEXT = 500;

function textOf(value: unknown): string {
  if (typeof value === 'string') return value.slice(0, MAX_TEXT).toLowerCase();
  if (value instanceof Error) return value.message.slice(0, MAX_TEXT).toLowerCase();
  return '';
}

export function kafkaLogLevel(line: KafkaLogLine): KafkaLogLevel {
  const texts = [textOf(line.message), textOf(line.error)];
  const says = (phrases: readonly string[]) => texts.some((text) => phrases.some((phrase) => text.includes(phrase)));
  if (says(COORDINATION)) return 'info';
  if (says(TRANSIENT)) return 'warn';
  // kafkajs's logLevel: NOTHING 0, ERROR 1, WARN 2, INFO 4, DEBUG 5.
  if (line.level <= 1) return 'error';
  if (line.level === 2) return 'warn';
  if (line.level === 4) return 'info';
  return 'debug';
}
