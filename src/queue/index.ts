// The queue component's interface: it owns inbound_notification (and lease_holder). Enqueue (a part of
// the intake statement), claim with a lease, complete inside the engine's transaction, retry later or
// dead-letter by THE retry policy (retry-policy.ts, declared once), dead letters and their API, the
// depth for metrics and /readyz, the flood guard's holding of still-queued notifications, the liveness
// of lease holders, Kafka, and its retention. Nothing else reads or writes inbound_notification.
export { NOTIFICATION_STATUSES, type NotificationStatus } from './schema.js';
export { enqueueNotifications, ENQUEUE_COLUMNS } from './enqueue.js';
export {
  autovacuumOff,
  claimNotifications,
  completeNotifications,
  countDeadLetters,
  deadLetterNotification,
  holdPendingOfUnits,
  listDeadLetters,
  newWorkerId,
  releaseNotifications,
  renewLeases,
  retryNotificationLater,
  supersedeEarlier,
  waitingByAddress,
  type DeadLetter,
  type QueuedNotification,
  type WaitingAddress,
} from './in-database.js';
export {
  CONFIGURATION_RETRY_MS,
  DEFAULT_RETRY_PERIOD_MS,
  planRetry,
  type Failure,
  type FailureKind,
  type RetryPlan,
} from './retry-policy.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { deadLettersRouter, retryDeadLettersOfSystem, retryOneDeadLetter } from './dead-letters-api.js';
export { pendingNotificationCount } from './pending.js';
export { purgeQueue, type QueueRetention } from './retention.js';
// Liveness of lease holders: heartbeats, and the release of a dead process's claims (each component
// that holds leases of its own gives a LeaseReleaser).
export {
  notificationLeases,
  ownedBy,
  startLiveness,
  type LeaseReleaser,
  type Liveness,
  type LivenessOptions,
} from './liveness.js';
export {
  createKafka,
  kafkaNames,
  pingKafka,
  startNotificationConsumer,
  startNotificationPublisher,
  type NotificationConsumer,
} from './kafka.js';
export {
  firstTryNewPostPending,
  notificationsOfBooking,
  queueDepth,
  waitsForRetry,
  type TracedNotification,
} from './reads.js';
export { queueOpenApi } from './openapi.js';
