// The queue component's interface for the rest of the service: how much waits, its retention, the
// flood guard's holding of a care unit's still-queued notifications, and the liveness of the processes
// that hold its leases.
// (The claim, retry and dead-letter functions are in in-database.ts and kafka.ts.)
export { pendingNotificationCount } from './pending.js';
export { purgeQueue, type QueueRetention } from './retention.js';
export { holdPendingOfUnits } from './in-database.js';
// Liveness of lease holders: heartbeats, and the release of a dead process's claims (each component
// that holds leases of its own gives a LeaseReleaser).
export { notificationLeases, ownedBy, startLiveness, type LeaseReleaser, type Liveness, type LivenessOptions } from './liveness.js';
export { enqueueNotifications, ENQUEUE_COLUMNS } from './enqueue.js';
