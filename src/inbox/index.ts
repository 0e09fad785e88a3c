// The inbox component's interface: it owns the citizens' messages and the posts' state (booking_post,
// inbox_message, held_message, care_unit_relation). The message engine writes them through
// messages.ts inside its own transaction; the citizen API and /inbox are mounted by mountCitizenInbox;
// the messages the flood guard holds are settled by the sweeper; and its retention.
export {
  createMessages,
  holdMessages,
  loadStoredPosts,
  recordCareUnits,
  storePosts,
  type NewInboxMessage,
  type PostState,
} from './messages.js';
export { bookingFacts, type BookingFacts } from './booking-facts.js';
export { offeredActions, templateProblem } from './booking-service.js';
export { mountCitizenInbox } from './citizen-web.js';
export { purgeInbox, type InboxRetention } from './retention.js';
export { heldCounts, startHeldMessageSweeper, type HeldMessageSweeper, type SettleResult } from './held-messages.js';
export { inboxOpenApi } from './openapi.js';
export { MESSAGE_KINDS, type MessageKind } from './schema.js';
