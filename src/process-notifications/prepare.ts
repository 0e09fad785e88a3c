// The CPU-bound part of receiving a call, as one pure step that runs the same on the main thread or in
// an ingest thread (parse-pool.ts): the envelope read, EI's field rules applied to every transaction,
// and each accepted transaction's post key and state. What needs the service's state (the registry, the
// flood guard, the database) stays with receive-notification.ts.
import {
  checkTransaction,
  isBookingDomain,
  postKeyHash,
  transactionState,
  type EngagementTransaction,
  type RejectionCode,
} from './engagement.js';
import { parseProcessNotificationEnvelope, type ParsedNotification, type RawTransaction } from './envelope-parser.js';

/** One transaction after the field rules: rejected, or valid with what the intake needs of it. */
// Lean on purpose: it is copied between threads (structured clone), so a valid transaction does not
// carry its fields twice (as read and as typed).
export type PreparedTransaction =
  | { ok: false; raw: RawTransaction; code: RejectionCode; reason: string }
  | {
      ok: true;
      position: number;
      transaction: EngagementTransaction;
      bookingDomain: boolean;
      keyHash: string;
      state: string;
    };

/** A call with its transactions prepared (in call order, one per transaction). */
export interface PreparedNotification {
  logicalAddress: ParsedNotification['logicalAddress'];
  prepared: PreparedTransaction[];
}

export function prepareTransactions(transactions: readonly RawTransaction[]): PreparedTransaction[] {
  return transactions.map((raw): PreparedTransaction => {
    const check = checkTransaction(raw);
    if (!check.ok) return { ok: false, raw, code: check.code, reason: check.reason };
    return {
      ok: true,
      position: raw.position,
      transaction: check.transaction,
      bookingDomain: isBookingDomain(check.transaction.engagement),
      keyHash: postKeyHash(check.transaction.engagement),
      state: transactionState(check.transaction),
    };
  });
}

/** Reads and prepares one call's XML (throws EnvelopeError for a call that is not a readable ProcessNotification). */
export function prepareNotification(xml: string): PreparedNotification {
  const parsed = parseProcessNotificationEnvelope(xml);
  return { logicalAddress: parsed.logicalAddress, prepared: prepareTransactions(parsed.transactions) };
}
