// The message engine's interface (the worker role): the loop that claims queued notifications, fetches
// their details, decides (pure) and writes the effects in one transaction; the release of held deletes;
// the rendering of message texts; the trace of its decisions for /admin; its retention.
export {
  SETTLE_RESULTS,
  startMessageEngine,
  type EngineOptions,
  type MessageEngine,
  type SettleResult,
} from './engine.js';
export { loadMessageRenderer, type MessageRenderer } from './render-message.js';
export {
  bookingsOfPerson,
  MESSAGE_NOTICES,
  TRACE_EVENT_TYPES,
  traceBooking,
  type BookingTrace,
  type TraceEvent,
} from './trace.js';
export { becauseInSwedish } from './trace-words.js';
export { purgeEngineRecords, type EngineRetention } from './retention.js';
export { DECISION_OUTCOMES, type DecisionOutcome } from './decision-log.js';
// The decision's vocabulary, which the inbox shows.
export type { BookingSnapshot, Categorization, MessageKind, StoredPost } from './decide.js';
