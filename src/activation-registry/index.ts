// The activation registry's interface: its use cases, its API and page, and the ingest's directory.
import type { Express } from 'express';
import type { Authenticator } from '../auth/index.js';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { Logger } from '../logging.js';
import { ADMIN_ROLE, SUPPORT_ROLE } from '../auth/index.js';
import type { SafeHtml } from '../web/index.js';
import { createAdminOidc } from '../web/index.js';
import type { SessionManager } from '../web/index.js';
import { adminApiRouter } from './admin-api.js';
import { adminPageRouter, type AdminConsoleHooks } from './admin-page.js';
import type { SourceSystemDirectory } from './directory.js';
import { createCareUnitAdministration, type CareUnitAdministration, type HeldCounts } from './care-units.js';
import { createSourceSystemRegistry, type SourceSystemRegistry } from './registry.js';

export {
  DELIVERY_MODES,
  openSourceSystemDirectory,
  SOURCE_SYSTEM_CHANNEL,
  type DeliveryMode,
  type SourceSystemDirectory,
  type SourceSystemMode,
  type UnitHold,
} from './directory.js';
export {
  checkLoad,
  createCareUnitAdministration,
  parseAdminTime,
  type CareUnitAdministration,
  type CareUnitLoad,
  type GuardedUnit,
  type HeldCounts,
} from './care-units.js';
export { HOLD_STATUSES, judgeUnit, judgeWaiting, type GuardSettings, type HoldStatus } from './flood-guard.js';
export { createFloodGuard, GUARD_ACTOR, type FloodGuard, type UnitTraffic } from './guard-store.js';
export { startHoldWatch, type HoldWatch } from './hold-watch.js';
export {
  createSourceSystemRegistry,
  RegistryError,
  type AuditEntry,
  type SourceSystem,
  type SourceSystemRegistry,
} from './registry.js';
export { checkChange, checkRegistration, type FieldProblem } from './validation.js';
export { purgeAuditLog } from './retention.js';
export {
  layout as adminLayout,
  problemList as adminProblemList,
  type AdminConsoleHooks,
  type AdminPageHelpers,
  type AdminSession,
} from './admin-page.js';
export { recordAudit } from './registry.js';
export {
  checkEnvironment,
  describeProblems,
  normaliseHsaId,
  ENVIRONMENT_CHOICES,
  HSA_ID_PATTERN,
  isEnvironment,
} from './validation.js';
export { unitTraffic } from './guard-store.js';
export { activationRegistryOpenApi, registrationBody } from './openapi.js';
export { toHttpError as registryHttpError } from './admin-api.js';
export { ENVIRONMENTS, SOURCE_SYSTEM_MODES, type Environment } from './schema.js';

export interface RegistryWebDependencies {
  config: Pick<Config, 'developmentSignIn' | 'adminOidc' | 'publicBaseUrl'>;
  database: Database;
  /** This process's directory: refreshed at once after each change made here. */
  directory: SourceSystemDirectory;
  authenticator: Authenticator;
  sessions: SessionManager;
  log: Logger;
  /** Messages held per care unit (the inbox's), for the counts the API and page show. */
  heldCounts?: () => Promise<Map<string, HeldCounts>>;
  /** A further section of /admin (the development demo's button). */
  extraSection?: (csrfToken: string) => SafeHtml;
  /** The administrators' console's sections and routes on /admin (src/admin-console). */
  console?: (registry: SourceSystemRegistry) => AdminConsoleHooks;
}

/**
 * Mounts /api/admin/source-systems, /api/admin/audit, /api/admin/care-unit-loads, /api/admin/care-units and the
 * /admin page.
 */
export function mountActivationRegistry(
  app: Express,
  deps: RegistryWebDependencies,
): { registry: SourceSystemRegistry; careUnits: CareUnitAdministration } {
  const registry = createSourceSystemRegistry(deps.database, { afterChange: () => deps.directory.refresh() });
  const careUnits = createCareUnitAdministration(deps.database, {
    afterChange: () => deps.directory.refresh(),
    ...(deps.heldCounts ? { heldCounts: deps.heldCounts } : {}),
  });
  app.use('/api/admin', adminApiRouter({ registry, careUnits, authenticator: deps.authenticator, log: deps.log }));
  const { adminOidc, publicBaseUrl, developmentSignIn } = deps.config;
  const oidc =
    adminOidc.issuer !== undefined && adminOidc.clientId !== undefined
      ? createAdminOidc({
          issuer: adminOidc.issuer,
          clientId: adminOidc.clientId,
          clientSecret: adminOidc.clientSecret,
          roleClaim: adminOidc.roleClaim,
          role: ADMIN_ROLE,
          supportRole: SUPPORT_ROLE,
        })
      : undefined;
  app.use(
    '/admin',
    adminPageRouter({
      registry,
      careUnits,
      sessions: deps.sessions,
      developmentSignIn,
      oidc,
      // Configured, never from the request's Host header (loadConfig requires one of the two).
      redirectUri:
        adminOidc.redirectUri ?? (publicBaseUrl !== undefined ? `${publicBaseUrl}/admin/logga-in/callback` : undefined),
      log: deps.log,
      ...(deps.extraSection ? { extraSection: deps.extraSection } : {}),
      ...(deps.console ? { console: deps.console(registry) } : {}),
    }),
  );
  return { registry, careUnits };
}
