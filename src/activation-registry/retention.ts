// The registry's retention: audit entries older than the audit period. The registrations themselves
// (live or deactivated) stay: they are the history the audit entries describe.
import type { Database } from '../db/index.js';
import { purgeOlderThan, type PurgeOptions } from '../db/index.js';
import { auditLog } from './schema.js';

export async function purgeAuditLog(
  database: Database,
  rules: { before: Date },
  options: PurgeOptions,
): Promise<{ audit_log: number }> {
  const deleted = await purgeOlderThan(database.orm, auditLog, auditLog.at, rules.before, options);
  return { audit_log: deleted };
}
