// The message engine: receive a queued notification -> fetch details -> decide -> store -> notify.
// Each notification's effects (post state, held cancellation, message, care-unit relation, channel
// request) are written in one transaction together with marking it done, so a crash at any point
// leads to each effect exactly once.
import { sql } from 'drizzle-orm';
import type { SourceSystemDirectory } from '../activation-registry/directory.js';
import { rows, type Database, type Executor } from '../db/database.js';
import { backoffDelay, type BookingDetails, type DetailsFetcher, type DetailsOutcome } from '../details-fetcher/index.js';
import type { Logger } from '../logging.js';
import {
  claimNotifications,
  completeNotification,
  deadLetterNotification,
  newWorkerId,
  releaseNotifications,
  retryNotificationLater,
  type QueuedNotification,
} from '../queue/in-database.js';
import {
  decide,
  decideRelease,
  type Action,
  type BookingSnapshot,
  type Categorization,
  type DetailsResult,
  type HeldDelete,
  type PostRef,
  type StoredPost,
} from './decide.js';
import type { MessageRenderer } from './render-message.js';

export interface EngineOptions {
  database: Database;
  /** Undefined while NTJP_GETBOOKINGDETAILS_URL is unset: notifications wait in the queue. */
  fetcher: DetailsFetcher | undefined;
  directory: SourceSystemDirectory;
  renderer: MessageRenderer;
  log: Logger;
  rebookWindowMs: number;
  workerId?: string;
  leaseMs?: number;
  /** Citizens handled side by side. */
  concurrency?: number;
  pollMs?: number;
  /** Tries before a transiently failing notification becomes a dead letter. */
  maxAttempts?: number;
  now?: () => Date;
  /** Told after each notification is settled (metrics, tests). */
  onSettled?: (outcome: { id: number; result: 'done' | 'retry' | 'dead'; because: string }) => void;
}

export interface MessageEngine {
  /** Claims and processes one round; resolves to the number of notifications settled. */
  runOnce(): Promise<number>;
  /** Releases held deletes whose window ended; resolves to the number released. */
  releaseDueHolds(): Promise<number>;
  stop(): Promise<void>;
}

class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
    readonly maxAttempts?: number,
  ) {
    super(message);
  }
}
class Permanent extends Error {}
class LostLease extends Error {}

const SLOW_RETRY_MS = 5 * 60_000;

export function toSnapshot(details: BookingDetails): BookingSnapshot {
  const snapshot: BookingSnapshot = { healthcareFacility: details.healthcareFacility };
  if (details.start) snapshot.start = details.start.toISOString();
  if (details.end) snapshot.end = details.end.toISOString();
  if ((details.startRaw && !details.start) || (details.endRaw && !details.end)) snapshot.badTime = true;
  const optional = [
    'healthcareFacilityName',
    'performer',
    'performerName',
    'bookingId',
    'purpose',
    'reason',
    'resourceName',
    'timeTypeName',
    'careTypeName',
    'cancelBookingAllowed',
    'rebookingAllowed',
    'messageAllowed',
    'isInvitation',
  ] as const;
  for (const key of optional) {
    const value = details[key];
    if (value !== undefined) (snapshot as unknown as Record<string, unknown>)[key] = value;
  }
  return snapshot;
}

function postOf(item: QueuedNotification): PostRef {
  const e = item.engagement;
  return {
    keyHash: item.keyHash,
    resident: e.registeredResidentIdentification,
    sourceSystem: e.sourceSystem,
    logicalAddress: e.logicalAddress,
    bookingId: e.businessObjectInstanceIdentifier,
    categorization: e.categorization as Categorization,
  };
}

function detailsResult(outcome: DetailsOutcome, attempts: number): DetailsResult {
  switch (outcome.kind) {
    case 'found':
      return { kind: 'found', details: toSnapshot(outcome.details) };
    case 'not-found':
      return { kind: 'not-found' };
    case 'subject-mismatch':
      return { kind: 'subject-mismatch', reason: outcome.reason };
    case 'malformed':
      throw new Permanent(`malformed GetBookingDetails answer: ${outcome.reason}`);
    case 'transient':
      throw new RetryLater(outcome.reason, outcome.retryAfterMs ?? backoffDelay(attempts + 1));
    case 'configuration':
      // Fixed by ordering a route, not by hammering: tried every few minutes for a day, visible meanwhile.
      throw new RetryLater(`${outcome.code}: ${outcome.reason}`, outcome.retryAfterMs ?? SLOW_RETRY_MS, 300);
  }
}

async function loadStored(db: Executor, keyHash: string): Promise<StoredPost | undefined> {
  const [row] = await rows<{
    key_hash: string;
    resident: string;
    source_system: string;
    logical_address: string;
    booking_id: string;
    categorization: Categorization;
    present: boolean;
    details: BookingSnapshot | string | null;
  }>(db, sql`select * from booking_post where key_hash = ${keyHash}`);
  if (!row) return undefined;
  const details = typeof row.details === 'string' ? (JSON.parse(row.details) as BookingSnapshot) : row.details;
  return {
    keyHash: row.key_hash,
    resident: row.resident,
    sourceSystem: row.source_system,
    logicalAddress: row.logical_address,
    bookingId: row.booking_id,
    categorization: row.categorization,
    present: row.present,
    ...(details ? { details } : {}),
  };
}

interface HeldRow {
  id: string | number;
  key_hash: string;
  resident: string;
  source_system: string;
  logical_address: string;
  categorization: Categorization;
  details: BookingSnapshot | string | null;
  deleted_at: Date | string;
  due_at: Date | string;
}

function toHeld(row: HeldRow): HeldDelete {
  const details = typeof row.details === 'string' ? (JSON.parse(row.details) as BookingSnapshot) : row.details;
  return {
    id: Number(row.id),
    keyHash: row.key_hash,
    logicalAddress: row.logical_address,
    categorization: row.categorization,
    ...(details ? { details } : {}),
    deletedAt: new Date(row.deleted_at),
    dueAt: new Date(row.due_at),
  };
}

async function loadHeld(db: Executor, resident: string, sourceSystem: string): Promise<HeldDelete[]> {
  const found = await rows<HeldRow>(
    db,
    sql`select * from held_cancellation where resident = ${resident} and source_system = ${sourceSystem} and status = 'held' order by id`,
  );
  return found.map(toHeld);
}

function bookingJson(post: PostRef, details: BookingSnapshot, previous?: BookingSnapshot): Record<string, unknown> {
  return {
    bookingId: post.bookingId,
    categorization: post.categorization,
    start: details.start ?? null,
    end: details.end ?? null,
    ...(previous ? { previousStart: previous.start ?? null, previousEnd: previous.end ?? null } : {}),
    careTypeName: details.careTypeName ?? null,
    timeTypeName: details.timeTypeName ?? null,
    performerName: details.performerName ?? null,
    resourceName: details.resourceName ?? null,
    cancelAllowed: details.cancelBookingAllowed ?? false,
    rebookAllowed: details.rebookingAllowed ?? false,
    messageAllowed: details.messageAllowed ?? false,
  };
}

/** Writes a decision's actions; `cause` names what caused them (one message per cause). */
async function applyActions(
  tx: Executor,
  actions: readonly Action[],
  cause: string,
  sourceNotificationId: number,
  renderer: MessageRenderer,
): Promise<number[]> {
  const messageIds: number[] = [];
  for (const action of actions) {
    switch (action.type) {
      case 'store-post': {
        const p = action.post;
        const details = p.details ? JSON.stringify(p.details) : null;
        await tx.execute(sql`
          insert into booking_post (key_hash, resident, source_system, logical_address, booking_id, categorization, present, details, start_at, updated_at)
          values (${p.keyHash}, ${p.resident}, ${p.sourceSystem}, ${p.logicalAddress}, ${p.bookingId}, ${p.categorization}, ${p.present},
                  ${details}::jsonb, ${p.details?.start ?? null}::timestamptz, now())
          on conflict (key_hash) do update set present = excluded.present, details = excluded.details,
            start_at = excluded.start_at, logical_address = excluded.logical_address, updated_at = now()`);
        break;
      }
      case 'hold-delete': {
        const p = action.post;
        await tx.execute(sql`
          insert into held_cancellation (resident, source_system, key_hash, logical_address, categorization, details, deleted_at, due_at, source_notification_id)
          values (${p.resident}, ${p.sourceSystem}, ${p.keyHash}, ${p.logicalAddress}, ${p.categorization},
                  ${action.details ? JSON.stringify(action.details) : null}::jsonb, ${action.deletedAt.toISOString()}::timestamptz,
                  ${action.dueAt.toISOString()}::timestamptz, ${sourceNotificationId})`);
        break;
      }
      case 'resolve-held': {
        const resolved = await rows<{ id: number }>(
          tx,
          sql`update held_cancellation set status = ${action.status}, resolved_at = now() where id = ${action.id} and status = 'held' returning id`,
        );
        // Someone else resolved it meanwhile: start over with fresh state.
        if (resolved.length !== 1) throw new LostLease(`held delete ${action.id} was resolved meanwhile`);
        break;
      }
      case 'create-message': {
        const rendered = renderer(action.kind, action.details, action.previous);
        const inserted = await rows<{ id: string | number }>(
          tx,
          sql`insert into inbox_message (resident, kind, subject, body, care_unit_hsa_id, care_unit_name, booking, key_hash, cause)
              values (${action.post.resident}, ${action.kind}, ${rendered.subject}, ${rendered.body}, ${action.details.healthcareFacility},
                      ${action.details.healthcareFacilityName ?? null}, ${JSON.stringify(bookingJson(action.post, action.details, action.previous))}::jsonb,
                      ${action.post.keyHash}, ${cause})
              on conflict (cause) do nothing returning id`,
        );
        for (const row of inserted) {
          messageIds.push(Number(row.id));
          await tx.execute(
            sql`insert into notification_request (resident, message_id) values (${action.post.resident}, ${Number(row.id)}) on conflict (message_id) do nothing`,
          );
        }
        break;
      }
      case 'record-care-unit':
        await tx.execute(sql`
          insert into care_unit_relation (resident, care_unit_hsa_id, care_unit_name) values (${action.resident}, ${action.hsaId}, ${action.name ?? null})
          on conflict (resident, care_unit_hsa_id) do update
            set last_at = now(), care_unit_name = coalesce(excluded.care_unit_name, care_unit_relation.care_unit_name)`);
        break;
      case 'security-event':
        await tx.execute(sql`
          insert into security_event (kind, logical_address, booking_id, source_notification_id, detail)
          values (${action.kind}, ${action.post.logicalAddress}, ${action.post.bookingId}, ${sourceNotificationId}, ${action.detail})`);
        break;
    }
  }
  return messageIds;
}

export function startMessageEngine(options: EngineOptions): MessageEngine {
  const { database, directory, renderer, log } = options;
  const workerId = options.workerId ?? newWorkerId();
  const leaseMs = options.leaseMs ?? 60_000;
  const concurrency = options.concurrency ?? 32;
  const maxAttempts = options.maxAttempts ?? 15;
  const now = options.now ?? (() => new Date());
  let stopped = false;

  async function processOne(item: QueuedNotification): Promise<string> {
    const post = postOf(item);
    const stored = await loadStored(database.orm, item.keyHash);
    let details: DetailsResult | undefined;
    if (!item.deleteFlag) {
      if (!options.fetcher) throw new RetryLater('GetBookingDetails is not configured', 30_000);
      details = detailsResult(
        await options.fetcher.fetch({ logicalAddress: post.logicalAddress, bookingId: post.bookingId, resident: post.resident }),
        item.attempts,
      );
    }
    const held = await loadHeld(database.orm, post.resident, post.sourceSystem);
    const decision = decide({
      notification: { id: item.id, deleteFlag: item.deleteFlag, post, receivedAt: item.receivedAt },
      ...(details ? { details } : {}),
      ...(stored ? { stored } : {}),
      held,
      mode: directory.modeOf(post.sourceSystem) ?? 'active',
      now: now(),
      rebookWindowMs: options.rebookWindowMs,
    });
    await database.orm.transaction(async (tx) => {
      if (!(await completeNotification(tx, item.id, workerId))) throw new LostLease(`notification ${item.id} is no longer ours`);
      await applyActions(tx, decision.actions, `notification:${item.id}`, item.id, renderer);
    });
    if (decision.actions.some((action) => action.type === 'security-event')) {
      log.warn({ notificationId: item.id, logicalAddress: post.logicalAddress }, 'subject_of_care mismatch: nothing shown, security event recorded');
    }
    return decision.because;
  }

  /** One citizen's claimed items, in order; the first failure leaves the rest for later. */
  async function processCitizen(items: QueuedNotification[]): Promise<number> {
    let settled = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      try {
        const because = await processOne(item);
        settled++;
        options.onSettled?.({ id: item.id, result: 'done', because });
      } catch (error) {
        const rest = items.slice(i + 1).map((next) => next.id);
        if (error instanceof LostLease) {
          log.info({ notificationId: item.id, reason: error.message }, 'notification taken over; will be picked up again');
          await releaseNotifications(database, [item.id, ...rest], workerId).catch(() => {});
        } else if (error instanceof Permanent) {
          await deadLetterNotification(database, item.id, workerId, error.message);
          log.error({ notificationId: item.id, reason: error.message }, 'notification dead-lettered');
          options.onSettled?.({ id: item.id, result: 'dead', because: error.message });
          settled++;
          // Later items of the citizen go on: a dead letter waits for an operator.
          continue;
        } else {
          const retry = error instanceof RetryLater ? error : new RetryLater((error as Error).message, backoffDelay(item.attempts + 1));
          const result = await retryNotificationLater(database, item.id, workerId, retry.delayMs, retry.message, retry.maxAttempts ?? maxAttempts).catch(
            () => 'retry' as const,
          );
          log.warn({ notificationId: item.id, attempts: item.attempts + 1, reason: retry.message, result }, 'notification not processed');
          options.onSettled?.({ id: item.id, result, because: retry.message });
          if (result === 'dead') settled++;
        }
        await releaseNotifications(database, rest, workerId).catch(() => {});
        break;
      }
    }
    return settled;
  }

  async function runOnce(): Promise<number> {
    const claimed = await claimNotifications(database, { workerId, citizens: concurrency * 4, perCitizen: 20, leaseMs });
    if (claimed.length === 0) return 0;
    const byCitizen = new Map<string, QueuedNotification[]>();
    for (const item of claimed) {
      const list = byCitizen.get(item.resident);
      if (list) list.push(item);
      else byCitizen.set(item.resident, [item]);
    }
    const queue = [...byCitizen.values()];
    let settled = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let items = queue.shift(); items; items = queue.shift()) settled += await processCitizen(items);
      }),
    );
    return settled;
  }

  async function releaseDueHolds(): Promise<number> {
    return database.orm.transaction(async (tx) => {
      // Not while a notification of the same citizen and system, delivered inside the window, still waits:
      // it may turn the cancellation into a rebooking.
      const due = await rows<HeldRow & { booking_id: string | null }>(
        tx,
        sql`select h.*, p.booking_id from held_cancellation h left join booking_post p on p.key_hash = h.key_hash
            where h.status = 'held' and h.due_at <= ${now().toISOString()}::timestamptz
              and not exists (
                select 1 from inbound_notification n
                where n.status = 'pending' and n.resident = h.resident and n.source_system = h.source_system and n.received_at < h.due_at)
            order by h.due_at limit 200
            for update of h skip locked`,
      );
      for (const row of due) {
        const held = toHeld(row);
        const post: PostRef = {
          keyHash: row.key_hash,
          resident: row.resident,
          sourceSystem: row.source_system,
          logicalAddress: row.logical_address,
          bookingId: row.booking_id ?? held.details?.bookingId ?? '',
          categorization: row.categorization,
        };
        const decision = decideRelease({ ...held, post }, now());
        await applyActions(tx, decision.actions, `held:${held.id}`, held.id, renderer);
      }
      return due.length;
    });
  }

  const pollMs = options.pollMs ?? 200;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  loop = (async () => {
    let lastSweep = 0;
    while (!stopped) {
      let busy = 0;
      try {
        if (Date.now() - lastSweep >= 1000) {
          lastSweep = Date.now();
          await releaseDueHolds();
        }
        // Without GetBookingDetails nothing can be processed in order: notifications wait (see /readyz).
        if (options.fetcher) busy = await runOnce();
      } catch (error) {
        log.error({ err: error as Error }, 'message engine round failed; trying again');
      }
      if (busy === 0 && !stopped) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pollMs);
        });
      }
    }
  })();

  return {
    runOnce,
    releaseDueHolds,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      loop = undefined;
    },
  };
}
