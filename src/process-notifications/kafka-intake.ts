// The intake with Kafka (KAFKA_BROKERS set): the same statement as the in-database intake (call record,
// redelivery check, queued rows with their ids) runs inside a transaction that is committed only after
// Kafka acknowledged one record per queued notification. EI hears "OK" only after both; when Kafka
// refuses, the transaction is rolled back and EI gets soap:Server and retries. If the commit fails after
// Kafka took the records, the workers find no row for those ids and skip them: nothing happens twice.
import type { Database } from '../db/index.js';
import { runIntakeStatement, type IntakeOptions, type NotificationIntake, type QueuedRef } from './intake.js';

export interface QueuedPublisher {
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  publish(refs: readonly QueuedRef[]): Promise<void>;
}

export function kafkaIntake(
  database: Database,
  publisher: QueuedPublisher,
  options?: IntakeOptions,
): NotificationIntake {
  return {
    async record(call) {
      return database.orm.transaction(async (tx) => {
        const result = await runIntakeStatement(tx, call, true, options);
        await publisher.publish(result.queuedRefs);
        return { callId: result.callId, queued: result.queued, duplicates: result.duplicates };
      });
    },
  };
}
