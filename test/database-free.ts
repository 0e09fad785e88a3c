// Test files that never open a database (decision tables, parsers, the SOAP client against a local
// producer, cost checks): `npm run test:postgres` leaves them out, as they would only run the same code a
// second time; `npm test` runs them. test/architecture/database-free.test.ts checks that none of them (nor a
// test helper it imports) opens a database or starts the app. A file not listed simply runs on both.
export const DATABASE_FREE_TEST_FILES = [
  'test/activation-registry/flood-guard.test.ts',
  'test/architecture/boundaries.test.ts',
  'test/architecture/database-free.test.ts',
  'test/channels/sender-rules.test.ts',
  'test/details-fetcher/address-eviction.test.ts',
  'test/details-fetcher/concurrency.test.ts',
  'test/details-fetcher/fetch.test.ts',
  'test/details-fetcher/guard-and-backoff.test.ts',
  'test/details-fetcher/swedish-time.test.ts',
  'test/details-fetcher/tls.test.ts',
  'test/details-fetcher/wsdl-trap.test.ts',
  'test/inbox/booking-service.test.ts',
  'test/inbox/bookings.test.ts',
  'test/message-engine/decide.test.ts',
  'test/message-engine/message-texts.test.ts',
  'test/message-engine/trace-words.test.ts',
  'test/process-notifications/engagement.test.ts',
  'test/process-notifications/envelope-parser.test.ts',
  'test/process-notifications/soap-hooks.test.ts',
  'test/queue/retry-policy.test.ts',
  'test/security/linear-cost.test.ts',
  'test/security/regex-redos.test.ts',
];
