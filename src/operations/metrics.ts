// Prometheus metrics at GET /metrics. One registry per app, so that tests can run several apps in one
// process. Labels are bounded sets (outcomes, fault codes, kinds, channels, statuses): never a resident,
// a booking id or a logical address.
import type { Express } from 'express';
import client from 'prom-client';
import type { Database } from '../db/index.js';
import {
  DETAILS_OUTCOME_KINDS,
  type DetailsFetcher,
  type DetailsOutcome,
  type DetailsRequest,
} from '../details-fetcher/index.js';
import type { Logger } from '../logging.js';
import { MESSAGE_KINDS } from '../inbox/index.js';
import { SETTLE_RESULTS, type SettleResult } from '../message-engine/index.js';
import { queueDepth, waitingByAddress } from '../queue/index.js';
import type { ReceiveOutcome, SoapFault } from '../process-notifications/index.js';

export const METRICS_PATH = '/metrics';

export interface ServiceMetrics {
  readonly registry: client.Registry;
  /** EndpointDependencies.onReceived */
  received(outcome: ReceiveOutcome): void;
  /** EndpointDependencies.onRefused */
  refused(fault: Pick<SoapFault, 'faultcode'>): void;
  /** A call refused before SOAP: no or an unlisted client certificate. */
  tlsRefused(reason: 'no-certificate' | 'not-allowed'): void;
  /** EngineOptions.onSettled */
  settled(outcome: { result: SettleResult }): void;
  /** EngineOptions.onMessagesCreated */
  messagesCreated(kinds: readonly string[]): void;
  /** SenderOptions.onSent */
  sent(event: { channel: string; status: string }): void;
  /** A flood-guard hold started. */
  floodGuardTripped(): void;
  /** Held messages settled after a decision (released / dropped). */
  heldSettled(result: { released: number; created: number; kinds: readonly string[]; dropped: number }): void;
  /** Where the flood guard's gauges read from: units held now, and units waiting longer than the alert limit. */
  watchHolds(source: { held(): number; overdue(): number }): void;
  /** SenderOptions.onDoubtSettled */
  doubtSettled(event: { channel: string; settled: string }): void;
  /** LivenessOptions.onReaped: dead processes found, and their claims released (per kind). */
  reaped(event: { processes: readonly string[]; released: Record<string, number> }): void;
  /** Wraps a details fetcher: latency and outcome of each call, breaker states on scrape. */
  instrumentFetcher<T extends DetailsFetcher>(fetcher: T): T;
}

// Outcomes of one GetBookingDetails: its kind, or `refused` when the guard did not send it (open circuit,
// full queue) — told apart so that the rate of calls that reach the producer can be read.
// The fetcher's own outcome kinds, plus `refused` (not sent: open circuit, full queue) and `error` (it threw).
const FETCH_OUTCOMES = [...DETAILS_OUTCOME_KINDS, 'refused', 'error'] as const;

export function createMetrics(deps: { database: Database; log: Logger; prefix?: string }): ServiceMetrics {
  const registry = new client.Registry();
  const p = deps.prefix ?? 'ei_';
  client.collectDefaultMetrics({ register: registry, prefix: p });

  /**
   * A counter of this registry. Each value in `startAtZero` (of its first label) is shown at 0 from the
   * start, so that a rate or an alert over it exists before the first event.
   */
  const counter = (name: string, help: string, labelNames: string[] = [], startAtZero: readonly string[] = []) => {
    const made = new client.Counter({ name: `${p}${name}`, help, labelNames, registers: [registry] });
    for (const value of startAtZero) made.inc({ [labelNames[0]!]: value }, 0);
    return made;
  };
  /** A gauge of this registry, read when scraped. */
  const gauge = (
    name: string,
    help: string,
    collect: (this: client.Gauge) => void | Promise<void>,
    labelNames: string[] = [],
  ) => new client.Gauge({ name: `${p}${name}`, help, labelNames, registers: [registry], collect });

  const calls = counter(
    'ingest_calls_total',
    'ProcessNotification calls answered, by result: ok (ResultCode OK), error (ResultCode ' +
      'ERROR), fault (refused with a SOAP fault)',
    ['result'],
    ['ok', 'error', 'fault'],
  );
  const transactions = counter(
    'ingest_transactions_total',
    'engagementTransactions in stored calls, by outcome: received (all), accepted (new, ' +
      'queued), duplicate (already received), ignored, rejected',
    ['outcome'],
    ['received', 'accepted', 'duplicate', 'ignored', 'rejected'],
  );
  const refusedCalls = counter(
    'ingest_refused_total',
    'ProcessNotification calls refused with a SOAP fault, by faultcode (Client: bad input, ' +
      'Server: could not store, retry)',
    ['faultcode'],
    ['Client', 'Server'],
  );
  const tlsRefused = counter(
    'ingest_tls_refused_total',
    'Calls to the SOAP endpoint refused for their client certificate, by reason (no-certificate, not-allowed)',
    ['reason'],
  );

  const queryFailures = counter(
    'metrics_query_failures_total',
    'Scrapes whose queue query failed (the database did not answer); the queue gauges then keep their last value',
  );
  const failed = (what: string) => (error: unknown) => {
    queryFailures.inc();
    deps.log.warn(
      { reason: error instanceof Error ? error.message.split('\n')[0] : 'unknown' },
      `metrics: ${what} query failed`,
    );
    return undefined;
  };
  let lastQueue = { pending: 0, oldestAgeSeconds: 0 };
  let queueRead: Promise<void> | undefined;
  // Both queue gauges come from one query per scrape; both indexed on the pending rows.
  const readQueue = () =>
    (queueRead ??= queueDepth(deps.database)
      .then(({ pending, oldest }) => {
        lastQueue = {
          pending,
          oldestAgeSeconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0,
        };
      })
      .catch(failed('queue'))
      .finally(() => {
        queueRead = undefined;
      }));
  // Notifications waiting for their producer, per logical address (the top 10 and `other`: bounded labels).
  const readWaiting = () => waitingByAddress(deps.database).catch(failed('waiting'));
  let waitingRead: ReturnType<typeof readWaiting> | undefined;
  const sharedWaiting = () => (waitingRead ??= readWaiting().finally(() => (waitingRead = undefined)));
  type Waiting = NonNullable<Awaited<ReturnType<typeof readWaiting>>>[number];
  const waitingGauge = (name: string, help: string, value: (row: Waiting) => number) =>
    gauge(
      name,
      help,
      async function () {
        const waiting = await sharedWaiting();
        if (!waiting) return;
        this.reset();
        for (const row of waiting) this.set({ logical_address: row.logicalAddress }, value(row));
      },
      ['logical_address'],
    );
  waitingGauge(
    'queue_waiting_for_producer',
    'Notifications waiting for their producer (down, refusing or faulting), by logical address ' +
      '(the 10 with most; the rest as other)',
    (row) => row.waiting,
  );
  waitingGauge(
    'queue_waiting_for_producer_oldest_age_seconds',
    'Age of the oldest notification waiting for its producer, by logical address (as queue_waiting_for_producer)',
    (row) => row.oldestAgeSeconds,
  );
  gauge('queue_pending', 'Accepted notifications waiting to be processed (in-database queue)', async function () {
    await readQueue();
    this.set(lastQueue.pending);
  });
  gauge(
    'queue_oldest_pending_age_seconds',
    'Age of the oldest waiting notification (0 when none waits)',
    async function () {
      await readQueue();
      this.set(lastQueue.oldestAgeSeconds);
    },
  );

  const fetchDuration = new client.Histogram({
    name: `${p}details_fetch_duration_seconds`,
    help: 'GetBookingDetails calls, from the request to the classified outcome (including waiting for a slot)',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const fetches = counter(
    'details_fetch_total',
    'GetBookingDetails outcomes by kind; refused: not sent (circuit open, queue full); error: the fetcher threw',
    ['outcome'],
    FETCH_OUTCOMES,
  );
  // The guard counts its own breakers: no list of addresses is kept here (they come from outside).
  let breakerSource: (() => { open: number; halfOpen: number }) | undefined;
  gauge(
    'details_breakers',
    'Logical addresses whose GetBookingDetails circuit breaker is open or half-open',
    function () {
      const counts = breakerSource?.() ?? { open: 0, halfOpen: 0 };
      this.set({ state: 'open' }, counts.open);
      this.set({ state: 'half-open' }, counts.halfOpen);
    },
    ['state'],
  );

  const settled = counter(
    'engine_notifications_total',
    'Notifications settled by the message engine: done, retry (put back for later), dead (dead letter)',
    ['result'],
    SETTLE_RESULTS,
  );
  const deadLetters = counter(
    'dead_letters_total',
    'Notifications that became dead letters (GET /api/admin/dead-letters lists them)',
  );
  const messages = counter('messages_created_total', 'Inbox messages created, by kind', ['kind'], MESSAGE_KINDS);
  const sends = counter(
    'channel_sends_total',
    'SMS and e-mail hand-overs to the provider, by channel and status (provider status, or retried / failed)',
    ['channel', 'status'],
  );

  const guardTrips = counter(
    'flood_guard_holds_total',
    'Care units whose messages the flood guard started to hold (an unannounced burst from a new ' +
      'or returning unit)',
  );
  const heldMessages = counter(
    'held_messages_settled_total',
    'Messages held by the flood guard and settled after a decision: released (became messages; ' +
      'a passed time makes none) or dropped',
    ['result'],
    ['released', 'dropped'],
  );
  let holdSource: { held(): number; overdue(): number } | undefined;
  gauge(
    'flood_guard_held_units',
    'Care units whose messages are held now, waiting for an administrator (/admin)',
    function () {
      this.set(holdSource?.held() ?? 0);
    },
  );
  gauge(
    'flood_guard_overdue_units',
    'Care units whose messages have been held longer than FLOOD_GUARD_ALERT_HOURS: alert on > 0',
    function () {
      this.set(holdSource?.overdue() ?? 0);
    },
  );
  const doubts = counter(
    'channel_in_doubt_settled_total',
    'SMS and e-mail deliveries in doubt (their sender stopped mid-hand-over), by channel and ' +
      'how each was settled: found (the provider had it), not_found (sent again), resent (SMTP: ' +
      'sent again, same Message-ID), gave_up',
    ['channel', 'settled'],
  );
  const deadProcesses = counter(
    'dead_processes_total',
    'Worker / sender processes taken for dead (no heartbeat for WORKER_DEAD_AFTER_SECONDS) and ' +
      'reaped by this process',
  );
  const leasesReleased = counter(
    'leases_released_total',
    'Claims of dead processes released at once by this process, by kind (notifications, deliveries)',
    ['kind'],
    ['notifications', 'deliveries'],
  );

  const SAFE_LABEL = /^[a-z_-]{1,32}$/;
  const bounded = (value: string) => (SAFE_LABEL.test(value) ? value : 'other');

  return {
    registry,
    received(outcome) {
      calls.inc({ result: outcome.answer.ResultCode === 'OK' ? 'ok' : 'error' });
      const c = outcome.counts;
      transactions.inc({ outcome: 'received' }, c.transactions);
      transactions.inc({ outcome: 'accepted' }, Math.max(0, c.accepted - c.duplicates));
      transactions.inc({ outcome: 'duplicate' }, c.duplicates);
      transactions.inc({ outcome: 'ignored' }, c.ignored);
      transactions.inc({ outcome: 'rejected' }, c.rejected);
    },
    refused(fault) {
      calls.inc({ result: 'fault' });
      refusedCalls.inc({ faultcode: fault.faultcode });
    },
    tlsRefused(reason) {
      calls.inc({ result: 'fault' });
      tlsRefused.inc({ reason });
    },
    settled(outcome) {
      settled.inc({ result: outcome.result });
      if (outcome.result === 'dead') deadLetters.inc();
    },
    messagesCreated(kinds) {
      for (const kind of kinds) messages.inc({ kind: bounded(kind) });
    },
    floodGuardTripped() {
      guardTrips.inc();
    },
    heldSettled(result) {
      heldMessages.inc({ result: 'released' }, result.released);
      heldMessages.inc({ result: 'dropped' }, result.dropped);
      for (const kind of result.kinds) messages.inc({ kind: bounded(kind) });
    },
    watchHolds(source) {
      holdSource = source;
    },
    sent(event) {
      sends.inc({ channel: bounded(event.channel), status: bounded(event.status) });
    },
    doubtSettled(event) {
      doubts.inc({ channel: bounded(event.channel), settled: bounded(event.settled) });
    },
    reaped(event) {
      deadProcesses.inc(event.processes.length);
      for (const [kind, count] of Object.entries(event.released)) leasesReleased.inc({ kind: bounded(kind) }, count);
    },
    instrumentFetcher<T extends DetailsFetcher>(fetcher: T): T {
      const breakers = (fetcher as Partial<{ breakers(): { open: number; halfOpen: number } }>).breakers;
      if (typeof breakers === 'function') breakerSource = breakers.bind(fetcher);
      const fetch = async (request: DetailsRequest): Promise<DetailsOutcome> => {
        const end = fetchDuration.startTimer();
        let label: (typeof FETCH_OUTCOMES)[number] = 'error';
        try {
          const outcome = await fetcher.fetch(request);
          // Not sent (open circuit, full queue, the per-unit call cap): marked so by the fetcher.
          label = outcome.kind === 'transient' && outcome.notSent ? 'refused' : outcome.kind;
          return outcome;
        } finally {
          fetches.inc({ outcome: label });
          if (label !== 'refused') end({ outcome: label });
        }
      };
      // The fetcher's other members (close, status) are reached through the prototype.
      return Object.assign(Object.create(fetcher) as T, { fetch });
    },
  };
}

export function mountMetrics(app: Express, metrics: ServiceMetrics): void {
  app.get(METRICS_PATH, async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
