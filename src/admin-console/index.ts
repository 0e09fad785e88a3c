// The administrators' console: what each source system sends and what comes of it, the unregistered
// systems seen, dead letters, and the trace of a booking; as API routes and as sections of /admin.
export { adminConsoleApi } from './api.js';
export { adminConsolePage, type ConsolePageDependencies } from './page.js';
export {
  sourceActivityOverview,
  unregisteredSystems,
  type ConsoleData,
  type SourceSystemActivity,
} from './overview.js';
export { checkTraceByPerson, TRACE_AUDIT } from './trace-request.js';
export { adminConsoleOpenApi } from './openapi.js';
