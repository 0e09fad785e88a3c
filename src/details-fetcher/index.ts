// The details fetcher's public face: GetBookingDetails as a typed outcome (types.ts), the client that
// makes the call, and the backoff formula the message engine schedules retries with.
export type { BookingDetails, CallPace, DetailsFetcher, DetailsOutcome, DetailsRequest } from './types.js';
export {
  createDetailsFetcher,
  CONSUMER_HSA_ID_HEADER,
  DETAILS_FETCHER_DEFAULTS,
  DetailsFetcherSetupError,
  type DetailsFetcherOptions,
  type GuardedDetailsFetcher,
} from './soap-client.js';
export type { AddressStatus, BreakerState } from './address-guard.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
