// The inbox component's interface for the rest of the service: its retention. (The engine, the citizen
// API and pages are wired from engine.ts, citizen-web.ts and dead-letters-api.ts.)
export { purgeInbox, type InboxRetention } from './retention.js';
