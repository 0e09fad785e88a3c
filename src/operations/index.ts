// Operations: /healthz and /readyz, /metrics, the request log, TLS for the SOAP endpoint, and the purge
// job that calls each component's retention in turn.
export { mountHealth } from './health.js';
export { heapLimitWarning } from './heap-limit.js';
export { createMetrics, mountMetrics, type ServiceMetrics } from './metrics.js';
export { requestLogging } from './request-log.js';
export { httpsOptionsOf, requireClientCertificate } from './tls.js';
export { type RetentionJob, startRetentionJob } from './retention.js';
