// The engine's decisions as records: one per notification decided (or held delete released, or
// notification given up on), written in the same transaction as the decision's effects, so the trace
// always agrees with what the citizen got. No personal data: the post by key hash, system, unit, booking id.
import { sql } from 'drizzle-orm';
import { columnNames, type Executor } from '../db/index.js';
import type { Logger } from '../logging.js';
import type { Decision, MessageKind, PostRef } from './decide.js';
import { engineDecisions, type DecisionOutcome } from './schema.js';

export { DECISION_OUTCOMES, type DecisionOutcome } from './schema.js';

export interface DecisionRecord {
  notificationId?: number;
  heldId?: number;
  keyHash: string;
  sourceSystem: string;
  logicalAddress: string;
  bookingId: string;
  outcome: DecisionOutcome;
  messageKind?: MessageKind;
  because: string;
  messageCause?: string;
}

export function decisionRecord(input: {
  notificationId?: number;
  heldId?: number;
  post: PostRef;
  decision: Decision;
  cause: string;
  dead?: boolean;
}): DecisionRecord {
  const made = input.decision.actions.find((action) => action.type === 'create-message');
  const kind = made?.type === 'create-message' ? made.kind : undefined;
  return {
    ...(input.notificationId !== undefined ? { notificationId: input.notificationId } : {}),
    ...(input.heldId !== undefined ? { heldId: input.heldId } : {}),
    keyHash: input.post.keyHash,
    // HSA-ids are not case-sensitive: kept upper-case, as registered, so the trace finds them either way.
    sourceSystem: input.post.sourceSystem.slice(0, 64).toUpperCase(),
    logicalAddress: input.post.logicalAddress.slice(0, 64),
    bookingId: input.post.bookingId.slice(0, 200),
    outcome: input.dead ? 'dead' : kind ? 'message' : 'no_message',
    ...(kind ? { messageKind: kind, messageCause: input.cause } : {}),
    because: input.decision.because.slice(0, 500),
  };
}

// Raw statements name their own table's columns through the schema (a renamed column no longer compiles).
const d = columnNames(engineDecisions);

/**
 * Writes the records on `executor` (the database, or the transaction of the decisions' effects): one
 * statement with the batch as one jsonb parameter. (The query builder's multi-row insert, ten parameters a
 * row, cost about as much CPU as the rest of a 256-notification batch's writes; bench:e2e, BENCHMARKS.md.)
 */
export async function recordDecisions(executor: Executor, records: readonly DecisionRecord[]): Promise<void> {
  if (records.length === 0) return;
  const items = records.map((record) => ({
    notification_id: record.notificationId ?? null,
    held_id: record.heldId ?? null,
    key_hash: record.keyHash,
    source_system: record.sourceSystem,
    logical_address: record.logicalAddress,
    booking_id: record.bookingId,
    outcome: record.outcome,
    message_kind: record.messageKind ?? null,
    because: record.because,
    message_cause: record.messageCause ?? null,
  }));
  await executor.execute(sql`
    insert into ${engineDecisions} (${d.notificationId}, ${d.heldId}, ${d.keyHash}, ${d.sourceSystem},
      ${d.logicalAddress}, ${d.bookingId}, ${d.outcome}, ${d.messageKind}, ${d.because}, ${d.messageCause})
    select r.notification_id, r.held_id, r.key_hash, r.source_system, r.logical_address, r.booking_id, r.outcome,
      r.message_kind, r.because, r.message_cause
    from jsonb_to_recordset(${JSON.stringify(items)}::jsonb) as r(notification_id bigint, held_id bigint, key_hash text,
      source_system text, logical_address text, booking_id text, outcome text, message_kind text, because text,
      message_cause text)`);
}

/** One info line per decision: the kind made or "no message", and why; the post by its key hash only. */
export function logDecisions(log: Logger, records: readonly DecisionRecord[]): void {
  // Below LOG_LEVEL: not even the lines' fields are built (a batch has hundreds).
  if (!log.isLevelEnabled('info')) return;
  for (const record of records) {
    log.info(
      {
        ...(record.notificationId !== undefined
          ? { notificationId: record.notificationId }
          : { heldId: record.heldId }),
        keyHash: record.keyHash,
        sourceSystem: record.sourceSystem,
        logicalAddress: record.logicalAddress,
        outcome: record.outcome,
        ...(record.messageKind ? { kind: record.messageKind } : {}),
        because: record.because,
      },
      'decision',
    );
  }
}
