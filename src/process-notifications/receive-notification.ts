// The ingest use case: check the address, sort each transaction into rejected / ignored / accepted,
// store durably, answer. Slow work (details, messages, SMS) happens later, off the queue.
import type { SourceSystemDirectory } from '../activation-registry/index.js';
import type { IntakeSighting, SourceActivity } from '../source-activity/index.js';
import { unitTraffic, type FloodGuard } from '../activation-registry/index.js';
import type { ParsedNotification } from './envelope-parser.js';
import { prepareTransactions, type PreparedNotification } from './prepare.js';
import type { AcceptedTransaction, IntakeResult, NotificationIntake, RejectedTransaction } from './intake.js';

export class SoapFault extends Error {
  override name = 'SoapFault';
  constructor(
    readonly faultcode: 'Client' | 'Server' | 'VersionMismatch',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ProcessNotificationAnswer {
  ResultCode: 'OK' | 'ERROR';
  comment: string;
}

export interface ReceiveOutcome {
  answer: ProcessNotificationAnswer;
  counts: { transactions: number; accepted: number; duplicates: number; ignored: number; rejected: number };
  result: IntakeResult;
}

export interface ReceiveDependencies {
  consumerHsaId: string;
  directory: SourceSystemDirectory;
  intake: NotificationIntake;
  /** Counts per source system what was received and ignored, and which unregistered systems sent (after commit). */
  activity?: SourceActivity;
  /** Counts new posts per care unit; a unit it holds gets its notifications stamped `held`. */
  floodGuard?: FloodGuard;
}

export async function receiveNotification(
  deps: ReceiveDependencies,
  /** As parsed; with `prepared` (an ingest thread's work) the field rules are not applied again. */
  notification: ParsedNotification | PreparedNotification,
  correlationId: string | undefined,
): Promise<ReceiveOutcome> {
  if (notification.logicalAddress === undefined || notification.logicalAddress === '') {
    throw new SoapFault('Client', 'The LogicalAddress header is missing');
  }
  if (notification.logicalAddress !== deps.consumerHsaId) {
    // The value is the caller's: quoted cut to EI's own limit (64), never whole (it may be a megabyte).
    const given =
      notification.logicalAddress.length > 64
        ? `${notification.logicalAddress.slice(0, 64)}... (${notification.logicalAddress.length} characters)`
        : notification.logicalAddress;
    throw new SoapFault('Client', `LogicalAddress ${given} is not this service (${deps.consumerHsaId})`);
  }

  const accepted: AcceptedTransaction[] = [];
  const rejected: RejectedTransaction[] = [];
  let ignored = 0;
  const sightings: IntakeSighting[] = [];
  const prepared = 'prepared' in notification ? notification.prepared : prepareTransactions(notification.transactions);
  for (const item of prepared) {
    if (!item.ok) {
      const { raw } = item;
      rejected.push({
        position: raw.position,
        code: item.code,
        reason: item.reason,
        fields: { ...raw.fields, deleteFlag: raw.deleteFlag },
      });
      continue;
    }
    const { engagement } = item.transaction;
    // The mode at delivery is stamped on the notification: it, not the mode at processing, decides.
    const bookingDomain = item.bookingDomain;
    const deliveredMode = bookingDomain
      ? deps.directory.deliveryMode(engagement.sourceSystem, engagement.logicalAddress)
      : undefined;
    const sighting = { sourceSystem: engagement.sourceSystem, logicalAddress: engagement.logicalAddress };
    if (deliveredMode === undefined) {
      ignored++;
      sightings.push({ ...sighting, outcome: 'ignored', unregistered: bookingDomain });
      continue;
    }
    sightings.push({ ...sighting, outcome: 'received', unregistered: false });
    accepted.push({
      position: item.position,
      deliveredMode,
      keyHash: item.keyHash,
      state: item.state,
      transaction: item.transaction,
    });
  }

  if (deps.floodGuard && accepted.length > 0) {
    let held: Set<string>;
    try {
      held = await deps.floodGuard.observe(
        unitTraffic(accepted.map((item) => ({ mode: item.deliveredMode, ...item.transaction }))),
      );
    } catch (error) {
      throw new SoapFault('Server', 'The notification could not be stored; please retry', { cause: error });
    }
    for (const item of accepted) {
      if (item.deliveredMode === 'active' && held.has(item.transaction.engagement.logicalAddress))
        item.deliveredMode = 'held';
    }
  }

  let result: IntakeResult;
  try {
    result = await deps.intake.record({
      correlationId,
      transactionCount: prepared.length,
      accepted,
      rejected,
      ignored,
    });
  } catch (error) {
    // soap:Server makes EI retry; nothing was committed.
    // The database's own words stay in the log: they may quote stored values.
    throw new SoapFault('Server', 'The notification could not be stored; please retry', { cause: error });
  }

  // Counted in memory and written within a second, off the answer path (source-activity/index.ts); never
  // fails the call: the counters are statistics, the notifications are already stored.
  deps.activity?.recordIntake(sightings);

  const counts = {
    transactions: prepared.length,
    accepted: accepted.length,
    duplicates: result.duplicates,
    ignored,
    rejected: rejected.length,
  };
  let comment =
    `accepted ${counts.accepted} (already received ${counts.duplicates}), ignored ${ignored}, ` +
    `rejected ${rejected.length}`;
  if (rejected.length > 0) {
    // Every rejected position is named; the reasons of the first ten keep the answer readable.
    const reasons = rejected.slice(0, 10).map((r) => `${r.position}: ${r.reason}`);
    const more =
      rejected.length > reasons.length ? `; ${rejected.length - reasons.length} more in the rejected log` : '';
    comment += `; rejected positions: ${rejected.map((r) => r.position).join(', ')} (${reasons.join('; ')}${more})`;
  }
  return { answer: { ResultCode: rejected.length > 0 ? 'ERROR' : 'OK', comment }, counts, result };
}
