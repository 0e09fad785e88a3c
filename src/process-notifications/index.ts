// The ingest component's interface for the rest of the service (the SOAP endpoint is mounted from
// soap-endpoint.ts, the intakes come from intake.ts and kafka-intake.ts).
export { purgeIngestRecords, type IngestRetention } from './retention.js';
