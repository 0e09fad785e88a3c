// The engine's decisions as records: one per notification decided (or held delete released, or
// notification given up on), written in the same transaction as the decision's effects, so the trace
// always agrees with what the citizen got. No personal data: the post by key hash, system, unit, booking id.
import type { Orm } from '../db/index.js';
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

/** Writes the records on `orm` (the database, or the transaction of the decisions' effects). */
export async function recordDecisions(orm: Pick<Orm, 'insert'>, records: readonly DecisionRecord[]): Promise<void> {
  if (records.length === 0) return;
  await orm.insert(engineDecisions).values(
    records.map((record) => ({
      notificationId: record.notificationId ?? null,
      heldId: record.heldId ?? null,
      keyHash: record.keyHash,
      sourceSystem: record.sourceSystem,
      logicalAddress: record.logicalAddress,
      bookingId: record.bookingId,
      outcome: record.outcome,
      messageKind: record.messageKind ?? null,
      because: record.because,
      messageCause: record.messageCause ?? null,
    })),
  );
}

/** One info line per decision: the kind made or "no message", and why; the post by its key hash only. */
export function logDecisions(log: Logger, records: readonly DecisionRecord[]): void {
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
