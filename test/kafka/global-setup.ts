// Vitest global setup of the Kafka tests (the `kafka` project in vitest.config.ts): gives them a real
// broker and a PostgreSQL server, and tells them (through `provide`) what they have or why they cannot run.
// - KAFKA_BROKERS given: that broker is used as it is; nothing is started.
// - Otherwise: the broker's jars are fetched once with Maven (test/kafka/pom.xml, into test/kafka/lib),
//   and a single-node broker is started with test/kafka/broker.sh on KAFKA_PORT (default: a free port)
//   with its data under .tmp/kafka-broker; it is stopped and its data removed when the run ends.
// - PostgreSQL: DATABASE_URL, or the local server at postgres://postgres@127.0.0.1:5432/test when one
//   answers (several processes share one database, which the embedded PGlite cannot do).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { javaPrerequisites } from '../helpers/prerequisites.js';
import type { KafkaProvided } from './setup.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const BROKER_SCRIPT = path.join(HERE, 'broker.sh');
const LIB = path.join(HERE, 'lib');
/** Written after a complete `mvn dependency:copy-dependencies`: an interrupted fetch is done again. */
const LIB_COMPLETE = path.join(LIB, '.complete');
const RUN_DIR = path.join(ROOT, '.tmp/kafka-broker');
export const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port that is free together with the next one (the broker's controller listens on port + 1). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await bindable(port)) && (await bindable(port + 1))) return port;
  }
  throw new Error('no two free neighbouring ports for the Kafka broker');
}

function brokerScript(command: 'start' | 'clean', port: string): string {
  return execFileSync(BROKER_SCRIPT, [command], {
    env: { ...process.env, KAFKA_PORT: port, KAFKA_RUN_DIR: RUN_DIR },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 120_000,
  });
}

async function prepare(): Promise<{ provided: KafkaProvided; teardown?: () => void }> {
  const given = process.env.DATABASE_URL?.trim();
  const databaseUrl = given || ((await answers(LOCAL_POSTGRES)) ? LOCAL_POSTGRES : undefined);
  if (!databaseUrl) {
    return {
      provided: {
        ready: false,
        reason: `no PostgreSQL: set DATABASE_URL, or run one at ${LOCAL_POSTGRES} (the service's processes share one database)`,
      },
    };
  }
  const brokers = process.env.KAFKA_BROKERS?.trim();
  if (brokers) return { provided: { ready: true, brokers, databaseUrl } };

  const fetched = fs.existsSync(LIB_COMPLETE);
  const prerequisites = javaPrerequisites({ java: true, maven: !fetched });
  if (!prerequisites.ready) {
    return {
      provided: {
        ready: false,
        reason: `no Kafka broker can be started (test/kafka/broker.sh): ${prerequisites.reason}`,
      },
    };
  }
  if (!fetched) {
    console.log('[Kafka tests] fetching the Kafka broker with Maven (once, into test/kafka/lib)');
    const mvn = spawnSync(
      'mvn',
      ['-B', '-q', '-Dstyle.color=never', 'dependency:copy-dependencies', '-DoutputDirectory=lib'],
      { cwd: HERE, stdio: 'inherit', timeout: 900_000 },
    );
    if (mvn.status !== 0)
      return {
        provided: {
          ready: false,
          reason: 'Maven could not fetch the Kafka broker (mvn dependency:copy-dependencies in test/kafka failed)',
        },
      };
    fs.writeFileSync(LIB_COMPLETE, `${new Date().toISOString()}\n`);
  }
  const port = process.env.KAFKA_PORT?.trim() || String(await freePortPair());
  // A broker left by an interrupted earlier run of this checkout is stopped first.
  brokerScript('clean', port);
  const address = brokerScript('start', port).trim().split('\n').at(-1)!;
  console.log(
    `[Kafka tests] broker started at ${address} (test/kafka/broker.sh; data in .tmp/kafka-broker, removed afterwards)`,
  );
  return {
    provided: { ready: true, brokers: address, databaseUrl, managed: { port, runDir: RUN_DIR } },
    teardown: () => {
      brokerScript('clean', port);
    },
  };
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const { provided, teardown } = await prepare();
  if (!provided.ready) console.warn(`[Kafka tests] ${provided.reason}`);
  project.provide('kafka', provided);
  return teardown;
}
