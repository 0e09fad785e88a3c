// The message engine's retention. Never deleted: a held cancellation still waiting for its window.
// Deleted after their period: settled held cancellations, security events, and the decision records
// (the trace), which are kept as long as the notifications they are about.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { columnNames, olderThan, purgeTables, type PurgeOptions } from '../db/index.js';
import { engineDecisions, heldCancellations, securityEvents } from './schema.js';

const h = columnNames(heldCancellations);

export interface EngineRetention {
  /** Settled held cancellations resolved before this go (the posts' period). */
  postsBefore: Date;
  securityEventsBefore: Date;
  /** The engine's decision records (the trace): kept as long as the notifications they are about. */
  decisionsBefore?: Date;
}

export function purgeEngineRecords(
  database: Database,
  rules: EngineRetention,
  options: PurgeOptions,
): Promise<{ held_cancellation: number; security_event: number; engine_decision: number }> {
  return purgeTables(
    database.orm,
    [
      {
        table: heldCancellations,
        key: { column: heldCancellations.id, type: 'bigint' },
        condition: sql`${h.status} <> 'held' and ${h.resolvedAt} < ${rules.postsBefore.toISOString()}::timestamptz`,
        stopAt: { column: heldCancellations.deletedAt, before: rules.postsBefore },
      },
      olderThan(securityEvents, securityEvents.at, rules.securityEventsBefore),
      olderThan(engineDecisions, engineDecisions.at, rules.decisionsBefore ?? rules.postsBefore),
    ],
    options,
  );
}
