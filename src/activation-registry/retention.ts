// The registry's retention: audit entries older than the audit period. The registrations themselves
// (live or deactivated) stay: they are the history the audit entries describe.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { purgeInSlices, type PurgeOptions } from '../db/index.js';

export async function purgeAuditLog(database: Database, rules: { before: Date }, options: PurgeOptions): Promise<{ audit_log: number }> {
  const deleted = await purgeInSlices(
    database.orm,
    {
      table: 'audit_log',
      key: { column: 'id', type: 'bigint' },
      condition: sql`at < ${rules.before.toISOString()}::timestamptz`,
      stopAt: { column: 'at', before: rules.before },
    },
    options,
  );
  return { audit_log: deleted };
}
