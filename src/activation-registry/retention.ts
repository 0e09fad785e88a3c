// The registry's retention: audit entries older than the audit period. The registrations themselves
// (live or deactivated) stay: they are the history the audit entries describe.
import type { Database } from '../db/index.js';
import { olderThan, purgeTables, type PurgeOptions } from '../db/index.js';
import { auditLog } from './schema.js';

export function purgeAuditLog(
  database: Database,
  rules: { before: Date },
  options: PurgeOptions,
): Promise<{ audit_log: number }> {
  return purgeTables(database.orm, [olderThan(auditLog, auditLog.at, rules.before)], options);
}
