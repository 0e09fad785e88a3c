// The ingest component's interface: the SOAP endpoint (ProcessNotification), the intakes that make an
// accepted call durable in one statement (in the database, or with Kafka), and its retention. It owns
// notification_call, rejected_transaction and ingest_post; the queue rows are the queue's part.
export { purgeIngestRecords, type IngestRetention } from './retention.js';
export { inDatabaseIntake, type NotificationIntake, type QueuedRef } from './intake.js';
export { kafkaIntake } from './kafka-intake.js';
export {
  type EndpointDependencies,
  mountProcessNotification,
  PROCESS_NOTIFICATION_PATH,
  type ProcessNotificationEndpoint,
} from './soap-endpoint.js';
export { type ReceiveOutcome, type SoapFault } from './receive-notification.js';
export { CATEGORIZATIONS, type Categorization, type Engagement } from './engagement.js';
