// The inbox component's interface for the rest of the service: its retention, and the messages the
// flood guard holds (counts for the registry, the sweep that settles them). (The engine, the citizen
// API and pages are wired from engine.ts, citizen-web.ts and dead-letters-api.ts.)
export { purgeInbox, type InboxRetention } from './retention.js';
export { heldCounts, startHeldMessageSweeper, type HeldMessageSweeper, type SettleResult } from './held-messages.js';
