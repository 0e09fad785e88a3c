// The details fetcher's public face: GetBookingDetails as a typed outcome (types.ts) and the client that
// makes the call (per-care-unit cap and breaker). When to try again is the queue's retry policy, not its.
export type { BookingDetails, CallPace, DetailsFetcher, DetailsOutcome, DetailsRequest } from './types.js';
export { DETAILS_OUTCOME_KINDS } from './types.js';
export {
  createDetailsFetcher,
  CONSUMER_HSA_ID_HEADER,
  DETAILS_FETCHER_DEFAULTS,
  DetailsFetcherSetupError,
  type DetailsFetcherOptions,
  type GuardedDetailsFetcher,
} from './soap-client.js';
export type { AddressStatus, BreakerState } from './address-guard.js';
