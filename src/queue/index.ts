// The queue component's interface for the rest of the service: how much waits, its retention, and
// the flood guard's holding of a care unit's still-queued notifications.
// (The claim, retry and dead-letter functions are in in-database.ts and kafka.ts.)
export { pendingNotificationCount } from './pending.js';
export { purgeQueue, type QueueRetention } from './retention.js';
export { holdPendingOfUnits } from './in-database.js';
