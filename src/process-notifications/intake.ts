// Durable intake of one ProcessNotification call: the call, its rejected transactions, the redelivery
// check and the queueing of what is new, all or nothing. The in-database implementation does it in a
// single SQL statement (one round trip, one commit); a Kafka implementation replaces the queueing part.
import { getTableName, sql } from 'drizzle-orm';
import type { DeliveryMode } from '../activation-registry/index.js';
import {
  columnNames,
  decodeCount,
  decodeId,
  decodeJson,
  preparedRows,
  type Database,
  type Executor,
} from '../db/index.js';
import { enqueueNotifications } from '../queue/index.js';
import type { EngagementTransaction, RejectionCode } from './engagement.js';
import { sequenceHash } from './engagement.js';
import { ingestPosts, notificationCalls, rejectedTransactions } from './schema.js';

// Raw statements name their own tables' columns through the schema (a renamed column no longer compiles).
const ip = columnNames(ingestPosts);
const nc = columnNames(notificationCalls);
const rt = columnNames(rejectedTransactions);
// The call id's sequence, named as literals for pg_get_serial_sequence (the schema gives the names).
const callTable = sql.raw(`'${getTableName(notificationCalls)}'`);
const callIdColumn = sql.raw(`'${notificationCalls.id.name}'`);
// With listQueued: the queued notifications' ids and residents, for the caller's own bookkeeping.
const queuedRefs = sql`(select json_agg(json_build_object('id', id, 'resident', resident) order by id) from queued)`;

export interface AcceptedTransaction {
  position: number;
  keyHash: string;
  /** What the transaction says about its post (engagement.ts transactionState). */
  state: string;
  /** The source system's mode when EI delivered it (the engine decides silent/active by this stamp). */
  deliveredMode: DeliveryMode;
  transaction: EngagementTransaction;
}

export interface RejectedTransaction {
  position: number;
  code: RejectionCode;
  reason: string;
  fields: Record<string, string | undefined>;
}

export interface IntakeCall {
  correlationId: string | undefined;
  transactionCount: number;
  accepted: AcceptedTransaction[];
  rejected: RejectedTransaction[];
  ignored: number;
}

export interface IntakeResult {
  callId: number;
  /** Accepted transactions put on the queue. */
  queued: number;
  /** Accepted transactions that repeat what was already received for their post (redelivery, re-send). */
  duplicates: number;
}

export interface IntakeOptions {
  /**
   * How long a transaction sequence of a post counts as already received (REDELIVERY_WINDOW_SECONDS).
   * Inside it an identical delivery is EI's redelivery (or a retried older call) and queues nothing;
   * after it an identical notification is processed: it may stand for an in-place change.
   */
  redeliveryWindowSeconds: number;
}

export const DEFAULT_REDELIVERY_WINDOW_SECONDS = 300;

export interface NotificationIntake {
  /** Stores the call durably; resolves only once it is committed. */
  record(call: IntakeCall): Promise<IntakeResult>;
}

/**
 * The order a call is applied in: deletes first, then new and updated posts, each in call order (EI
 * applies a call's deletes before its saves), so that a delete and a new post of one citizen pair into a
 * rebooking whatever their order in the call.
 */
export function applyOrder<T extends { position: number; transaction: EngagementTransaction }>(
  accepted: readonly T[],
): T[] {
  return [...accepted].sort(
    (a, b) => Number(b.transaction.deleteFlag) - Number(a.transaction.deleteFlag) || a.position - b.position,
  );
}

/** What a call says about each post: its transactions' states in applying order, one entry per post. */
export function postSequences(accepted: readonly AcceptedTransaction[]): { key_hash: string; sequence_hash: string }[] {
  const byPost = new Map<string, string[]>();
  for (const item of applyOrder(accepted)) {
    const list = byPost.get(item.keyHash);
    if (list) list.push(item.state);
    else byPost.set(item.keyHash, [item.state]);
  }
  // Sorted, so that concurrent calls lock shared posts in one order and cannot deadlock.
  return [...byPost.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, states]) => ({ key_hash: key, sequence_hash: sequenceHash(states) }));
}

/** A notification the intake statement queued: its id and the citizen it belongs to. */
export interface QueuedRef {
  id: number;
  resident: string;
}

/**
 * Runs the intake statement on `executor` (the database, or a transaction the caller commits). With
 * `listQueued`, the ids and citizens of the queued notifications come back too (for the Kafka intake).
 */
export async function runIntakeStatement(
  executor: Executor,
  call: IntakeCall,
  listQueued = false,
  options: IntakeOptions = { redeliveryWindowSeconds: DEFAULT_REDELIVERY_WINDOW_SECONDS },
): Promise<IntakeResult & { queuedRefs: QueuedRef[] }> {
  const posts = postSequences(call.accepted);
  const window = Math.max(0, options.redeliveryWindowSeconds);
  const transactions = applyOrder(call.accepted).map((item, order) => ({
    order,
    position: item.position,
    delivered_mode: item.deliveredMode,
    key_hash: item.keyHash,
    resident: item.transaction.engagement.registeredResidentIdentification,
    source_system: item.transaction.engagement.sourceSystem,
    delete_flag: item.transaction.deleteFlag,
    engagement: item.transaction.engagement,
  }));
  const rejected = call.rejected.map((item) => ({
    position: item.position,
    code: item.code,
    reason: item.reason,
    fields: item.fields,
  }));
  // Per post, the sequences received within the redelivery window (each with when it was first received,
  // in epoch seconds). A post whose sequence in this call is one of them is left alone and nothing is
  // queued for it: EI delivering the same call again, or retrying an older call after a newer one (which
  // must not undo the newer state). Outside the window the same sequence is queued again.
  // Prepared: the statement is planned once per connection, not at every call (planning it costs more
  // than running it for a 1000-transaction call).
  const [result] = await preparedRows<{
    call_id: string | number;
    queued: number;
    queued_refs: QueuedRef[] | string | null;
  }>(
    executor,
    listQueued ? 'intake_listed' : 'intake',
    sql`
    with call_id as (
      select nextval(pg_get_serial_sequence(${callTable}, ${callIdColumn})) as id
    ), changed as (
      insert into ${ingestPosts} as p (${ip.keyHash}, ${ip.sequenceHash}, ${ip.recent})
      select k.key_hash, k.sequence_hash,
        jsonb_build_array(jsonb_build_object('h', k.sequence_hash, 't', extract(epoch from now())))
      from jsonb_to_recordset(${JSON.stringify(posts)}::jsonb) as k(key_hash text, sequence_hash text)
      order by k.key_hash
      on conflict (${ip.keyHash}) do update
        set ${ip.sequenceHash} = excluded.${ip.sequenceHash}, ${ip.updatedAt} = now(),
        ${ip.recent} = coalesce((select jsonb_agg(e) from jsonb_array_elements(p.${ip.recent}) e
                           where (e->>'t')::float8 > extract(epoch from now()) - ${window}), '[]'::jsonb)
                       || excluded.${ip.recent}
        where not exists (select 1 from jsonb_array_elements(p.${ip.recent}) e
                          where e->>'h' = excluded.${ip.sequenceHash}
                            and (e->>'t')::float8 > extract(epoch from now()) - ${window})
      returning p.${ip.keyHash} as key_hash
    ), queued as (
      ${enqueueNotifications(sql`select call_id.id, t.position, t.key_hash, t.resident, t.source_system, t.delete_flag,
        t.delivered_mode, t.engagement
      from call_id, jsonb_to_recordset(${JSON.stringify(transactions)}::jsonb)
        as t("order" int, position int, key_hash text, resident text, source_system text, delete_flag boolean,
          delivered_mode text, engagement jsonb)
      where t.key_hash in (select key_hash from changed)
      order by t."order"`)}
    ), rejected as (
      insert into ${rejectedTransactions} (${rt.callId}, ${rt.position}, ${rt.code}, ${rt.reason}, ${rt.fields})
      select call_id.id, r.position, r.code, r.reason, r.fields
      from call_id,
        jsonb_to_recordset(${JSON.stringify(rejected)}::jsonb) as r(position int, code text, reason text, fields jsonb)
      returning 1
    ), queued_count as (
      select count(*)::int as n from queued
    ), call as (
      insert into ${notificationCalls}
        (${nc.id}, ${nc.correlationId}, ${nc.transactions}, ${nc.accepted}, ${nc.duplicates}, ${nc.ignored},
         ${nc.rejected})
      select call_id.id, ${call.correlationId ?? null}, ${call.transactionCount}, ${call.accepted.length},
             ${call.accepted.length} - queued_count.n, ${call.ignored}, (select count(*)::int from rejected)
      from call_id, queued_count
      returning ${nc.id} as id
    )
    select (select id from call) as call_id, (select n from queued_count) as queued,
      ${listQueued ? queuedRefs : sql`null`} as queued_refs`,
  );
  if (!result) throw new Error('intake statement returned no row');
  const queued = decodeCount(result.queued);
  const refs = decodeJson<QueuedRef[]>(result.queued_refs) ?? [];
  return {
    callId: decodeId(result.call_id),
    queued,
    duplicates: call.accepted.length - queued,
    queuedRefs: refs.map((ref) => ({ id: decodeId(ref.id), resident: ref.resident })),
  };
}

export function inDatabaseIntake(database: Database, options?: IntakeOptions): NotificationIntake {
  return {
    async record(call) {
      const result = await runIntakeStatement(database.orm, call, false, options);
      return { callId: result.callId, queued: result.queued, duplicates: result.duplicates };
    },
  };
}
