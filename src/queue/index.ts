// The queue component's interface for the rest of the service: how much waits, and its retention.
// (The claim, retry and dead-letter functions are in in-database.ts and kafka.ts.)
export { pendingNotificationCount } from './pending.js';
export { purgeQueue, type QueueRetention } from './retention.js';
