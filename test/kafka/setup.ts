// What the Kafka tests were given by their global setup (global-setup.ts): a broker and PostgreSQL, or
// why they cannot run. Without them a test file skips and says why; in CI that is an error.
import { inject } from 'vitest';

export type KafkaProvided =
  | {
      ready: true;
      brokers: string;
      /** The PostgreSQL server the tests create their databases next to. */
      databaseUrl: string;
      /** Set when the setup started the broker with test/kafka/broker.sh (the restart test needs that). */
      managed?: { port: string; runDir: string };
    }
  | { ready: false; reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    kafka: KafkaProvided;
  }
}

export function kafkaSetup(): KafkaProvided {
  const provided: KafkaProvided = inject('kafka') ?? {
    ready: false,
    reason: 'run through vitest.config.ts (its kafka project starts the broker)',
  };
  if (provided.ready) return provided;
  if (process.env.CI) throw new Error(`Kafka tests cannot run: ${provided.reason}`);
  return provided;
}
