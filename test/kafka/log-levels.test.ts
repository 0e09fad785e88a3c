// kafkajs's log lines at our levels: routine group coordination (what every deploy and broker restart
// brings) is never `error`; real failures are. The lines are the texts kafkajs writes (2.2.x).
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogLevel, type KafkaLogLine } from '../../src/queue/kafka-log.js';

const { ERROR, WARN, INFO, DEBUG } = logLevel;

const cases: Array<[string, KafkaLogLine, string]> = [
  // Routine coordination: info.
  [
    'heartbeat answered: rebalancing',
    {
      level: ERROR,
      message: 'Response Heartbeat(key: 12, version: 3)',
      error: 'The group is rebalancing, so a rejoin is needed',
    },
    'info',
  ],
  [
    'runner re-joining',
    {
      level: WARN,
      message: 'The group is rebalancing, re-joining',
      error: 'The group is rebalancing, so a rejoin is needed',
    },
    'info',
  ],
  [
    'coordinator loading',
    {
      level: ERROR,
      message: 'Response FindCoordinator(key: 10, version: 2)',
      error: "The coordinator is loading and hence can't process requests for this group",
    },
    'info',
  ],
  [
    'coordinator not available',
    {
      level: ERROR,
      message: 'Response JoinGroup(key: 11, version: 5)',
      error: 'The group coordinator is not available',
    },
    'info',
  ],
  [
    'coordinator moved',
    {
      level: ERROR,
      message: 'Response OffsetCommit(key: 8, version: 5)',
      error: 'This is not the correct coordinator for this group',
    },
    'info',
  ],
  [
    'member unknown after a session timeout',
    {
      level: ERROR,
      message: 'The coordinator is not aware of this member, re-joining the group',
      error: 'The coordinator is not aware of this member',
    },
    'info',
  ],
  [
    'old generation',
    {
      level: ERROR,
      message: 'Response SyncGroup(key: 14, version: 3)',
      error: 'Specified group generation id is not valid',
    },
    'info',
  ],
  [
    'member id required while joining',
    {
      level: ERROR,
      message: 'Response JoinGroup(key: 11, version: 5)',
      error: 'The group member needs to have a valid member id before actually entering a consumer group',
    },
    'info',
  ],
  ['joined', { level: INFO, message: 'Consumer has joined the group' }, 'info'],
  // Transient cluster states kafkajs retries: warn.
  [
    'leader election',
    {
      level: ERROR,
      message: 'Response Metadata(key: 3, version: 6)',
      error: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
    },
    'warn',
  ],
  [
    'leader moved',
    { level: ERROR, message: 'Failed to send messages: This server is not the leader for that topic-partition' },
    'warn',
  ],
  [
    'topic being created',
    {
      level: ERROR,
      message: 'Response Metadata(key: 3, version: 6)',
      error: 'This server does not host this topic-partition',
    },
    'warn',
  ],
  ['other warnings', { level: WARN, message: 'Consumer group received unsubscribed topics' }, 'warn'],
  // Real failures: error.
  [
    'broker unreachable',
    {
      level: ERROR,
      message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      error: 'connect ECONNREFUSED 127.0.0.1:9092',
    },
    'error',
  ],
  [
    'seed broker',
    {
      level: ERROR,
      message: 'Failed to connect to seed broker, trying another broker from the list: Connection timeout',
    },
    'error',
  ],
  [
    'consumer crash',
    { level: ERROR, message: 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED' },
    'error',
  ],
  [
    'our handler failed',
    { level: ERROR, message: 'Error when calling eachBatch', error: 'write CONNECTION_CLOSED 127.0.0.1:5432' },
    'error',
  ],
  [
    'replicas missing',
    {
      level: ERROR,
      message: 'Failed to send messages: Messages are rejected since there are fewer in-sync replicas than required',
    },
    'error',
  ],
  ['debug stays debug', { level: DEBUG, message: 'Request Fetch(key: 1, version: 11)' }, 'debug'],
];

describe('kafkajs log levels', () => {
  it.each(cases)('When kafkajs logs "%s", then the line is written at the expected level', (_name, line, expected) => {
    expect(kafkaLogLevel(line)).toBe(expected);
  });

  it('When a broker sends a very long error text, then only its start is looked at', () => {
    const long = `${'x'.repeat(100_000)} The group is rebalancing`;
    expect(kafkaLogLevel({ level: ERROR, message: 'Response Heartbeat', error: long })).toBe('error');
  });
});
