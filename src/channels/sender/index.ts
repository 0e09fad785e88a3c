// The sender: loop.ts runs the rounds, plan.ts turns requests into deliveries, claim.ts claims them
// set-based, sms-rules.ts and rules.ts hold the pure decisions.
export {
  claimDue,
  claimInDoubt,
  expireLeases,
  releaseDeadSenders,
  type ClaimedDelivery,
  type InDoubtDelivery,
} from './claim.js';
export {
  DEFAULT_SMS_DAILY_CAP,
  startChannelSender,
  type ChannelSender,
  type SenderOptions,
  type SenderRound,
} from './loop.js';
export { foldWaiting, plan } from './plan.js';
export {
  defaultBackoffMs,
  deliveryIdOf,
  deliveryReference,
  failureOutcome,
  instant,
  type FailureOutcome,
} from './rules.js';
export {
  decideClaim,
  SMS_COUNTED_STATUSES,
  type Channel,
  type ClaimDecision,
  type DueDelivery,
  type SmsRules,
} from './sms-rules.js';
