// The message engine's retention. Never deleted: a held cancellation still waiting for its window.
// Deleted after their period: settled held cancellations, security events, and the decision records
// (the trace), which are kept as long as the notifications they are about.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/index.js';
import { columnNames, purgeInSlices, purgeOlderThan, type PurgeOptions } from '../db/index.js';
import { engineDecisions, heldCancellations, securityEvents as securityEventTable } from './schema.js';

const h = columnNames(heldCancellations);

export interface EngineRetention {
  /** Settled held cancellations resolved before this go (the posts' period). */
  postsBefore: Date;
  securityEventsBefore: Date;
  /** The engine's decision records (the trace): kept as long as the notifications they are about. */
  decisionsBefore?: Date;
}

export async function purgeEngineRecords(
  database: Database,
  rules: EngineRetention,
  options: PurgeOptions,
): Promise<{ held_cancellation: number; security_event: number; engine_decision: number }> {
  const held = await purgeInSlices(
    database.orm,
    {
      table: heldCancellations,
      key: { column: heldCancellations.id, type: 'bigint' },
      condition: sql`${h.status} <> 'held' and ${h.resolvedAt} < ${rules.postsBefore.toISOString()}::timestamptz`,
      stopAt: { column: heldCancellations.deletedAt, before: rules.postsBefore },
    },
    options,
  );
  const securityEvents = await purgeOlderThan(
    database.orm,
    securityEventTable,
    securityEventTable.at,
    rules.securityEventsBefore,
    options,
  );
  const decisionsBefore = rules.decisionsBefore ?? rules.postsBefore;
  const decisions = await purgeOlderThan(database.orm, engineDecisions, engineDecisions.at, decisionsBefore, options);
  return { held_cancellation: held, security_event: securityEvents, engine_decision: decisions };
}
