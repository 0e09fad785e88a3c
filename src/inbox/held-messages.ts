// Messages held by the flood guard (held_message): counted for /admin, and settled once an
// administrator (or the guard's expiry) decided: released ones become inbox messages, oldest first, each
// with its channel request (so SMS and e-mail digests follow as usual) and its care-unit relation;
// dropped ones are deleted (the post state stays in booking_post). The sweep runs in the worker role
// every second and works in chunks, so a release of 50,000 messages never holds one long transaction,
// and a held message made after the decision (its notification was still in the queue) is settled too.
import { sql } from 'drizzle-orm';
import type { HeldCounts, SourceSystemDirectory } from '../activation-registry/index.js';
import { requestNotifications } from '../channels/index.js';
import {
  columnNames,
  decodeCount,
  decodeDate,
  decodeId,
  decodeJson,
  rows,
  type Database,
  type Executor,
} from '../db/index.js';
import type { Logger } from '../logging.js';
import { careUnitRelations, heldMessages, inboxMessages } from './schema.js';

// Tables and columns named through the schema (a renamed column no longer compiles); kinds stay literals.
const hm = columnNames(heldMessages);
const im = columnNames(inboxMessages);
const cr = columnNames(careUnitRelations);

/** Held messages per care unit (logical address). */
export async function heldCounts(db: Executor): Promise<Map<string, HeldCounts>> {
  const found = await rows<{
    logical_address: string;
    messages: number;
    citizens: number;
    oldest: Date | string | null;
  }>(
    db,
    sql`select ${hm.logicalAddress}, count(*)::int as messages, count(distinct ${hm.resident})::int as citizens,
      min(${hm.heldAt}) as oldest
        from ${heldMessages} group by ${hm.logicalAddress}`,
  );
  return new Map(
    found.map((row) => [
      row.logical_address,
      {
        messages: decodeCount(row.messages),
        citizens: decodeCount(row.citizens),
        oldestHeldAt: row.oldest ? decodeDate(row.oldest) : undefined,
      },
    ]),
  );
}

export interface SettleResult {
  released: number;
  /** Of the released: messages created (a booking whose time has passed makes none). */
  created: number;
  kinds: string[];
  dropped: number;
}

/**
 * Releases up to `limit` of a unit's held messages, oldest first (in EI's delivery order), inside the caller's
 * transaction: each becomes an inbox message (unique per cause, as always) with one channel request. A held
 * message about a time that has passed by now makes no message, like any post whose time has passed.
 */
export async function releaseHeldChunk(tx: Executor, logicalAddress: string, limit: number): Promise<SettleResult> {
  const [result] = await rows<{
    released: number;
    kinds: string[] | string | null;
    shown: { id: number; resident: string }[] | string | null;
  }>(
    tx,
    sql`with chunk as (
          select ${hm.id} from ${heldMessages} where ${hm.logicalAddress} = ${logicalAddress}
          order by ${hm.id} limit ${limit} for update skip locked
        ), gone as (
          delete from ${heldMessages} h using chunk c where h.${hm.id} = c.${hm.id}
          returning h.${hm.id}, h.${hm.resident}, h.${hm.kind}, h.${hm.subject}, h.${hm.body}, h.${hm.careUnitHsaId},
            h.${hm.careUnitName}, h.${hm.booking}, h.${hm.keyHash}, h.${hm.cause}
        ), shown as (
          insert into ${inboxMessages}
            (${im.resident}, ${im.kind}, ${im.subject}, ${im.body}, ${im.careUnitHsaId}, ${im.careUnitName},
              ${im.booking}, ${im.keyHash}, ${im.cause})
          select g.${hm.resident}, g.${hm.kind}, g.${hm.subject}, g.${hm.body}, g.${hm.careUnitHsaId},
            g.${hm.careUnitName}, g.${hm.booking}, g.${hm.keyHash}, g.${hm.cause}
          from gone g
          where g.${hm.booking}->>'start' is null or (g.${hm.booking}->>'start')::timestamptz >= now()
          -- In the order EI delivered them: a citizen's posts are decided in parallel rounds, so the held
          -- rows' own order need not be the delivery order; the causing notification's id is.
          order by case when split_part(g.${hm.cause}, ':', 1) = 'notification'
                        then split_part(g.${hm.cause}, ':', 2)::bigint end nulls last, g.${hm.id}
          on conflict (${im.cause}) do nothing
          returning ${im.id}, ${im.resident}, ${im.kind}, ${im.careUnitHsaId}, ${im.careUnitName}
        ), related as (
          insert into ${careUnitRelations} (${cr.resident}, ${cr.careUnitHsaId}, ${cr.careUnitName})
          select distinct on (${im.resident}, ${im.careUnitHsaId})
            ${im.resident}, ${im.careUnitHsaId}, ${im.careUnitName}
          from shown where ${im.kind} <> 'cancellation'
          order by ${im.resident}, ${im.careUnitHsaId}, ${im.id} desc
          on conflict (${cr.resident}, ${cr.careUnitHsaId}) do update
            set ${cr.lastAt} = now(),
              ${cr.careUnitName} = coalesce(excluded.${cr.careUnitName}, ${careUnitRelations}.${cr.careUnitName})
          returning 1
        )
        select (select count(*)::int from gone) as released, (select json_agg(${im.kind}) from shown) as kinds,
               (select json_agg(json_build_object('id', ${im.id}, 'resident', ${im.resident}) order by ${im.id})
                  from shown) as shown,
               (select count(*)::int from related) as related`,
  );
  const kinds = decodeJson<string[]>(result?.kinds ?? null) ?? [];
  const shown = decodeJson<{ id: number; resident: string }[]>(result?.shown ?? null) ?? [];
  // Each message shown now gets its channel request, in the same transaction (channels' hand-off).
  const created = await requestNotifications(
    tx,
    shown.map((message) => ({ resident: message.resident, messageId: decodeId(message.id) })),
  );
  return { released: decodeCount(result?.released), created, kinds, dropped: 0 };
}

/** Deletes up to `limit` of a unit's held messages. */
export async function dropHeldChunk(db: Executor, logicalAddress: string, limit: number): Promise<number> {
  const [result] = await rows<{ dropped: number }>(
    db,
    sql`with chunk as (
          select ${hm.id} from ${heldMessages} where ${hm.logicalAddress} = ${logicalAddress}
          order by ${hm.id} limit ${limit} for update skip locked
        ), gone as (delete from ${heldMessages} h using chunk c where h.${hm.id} = c.${hm.id} returning 1)
        select count(*)::int as dropped from gone`,
  );
  return decodeCount(result?.dropped);
}

export interface HeldMessageSweeper {
  /** Settles what was decided; resolves to what it did. */
  sweep(): Promise<SettleResult>;
  stop(): Promise<void>;
}

export function startHeldMessageSweeper(deps: {
  database: Database;
  directory: SourceSystemDirectory;
  log: Logger;
  intervalMs?: number;
  chunk?: number;
  onSettled?: (result: SettleResult) => void;
}): HeldMessageSweeper {
  const { database, directory, log } = deps;
  const chunk = deps.chunk ?? 2000;
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();

  async function sweep(): Promise<SettleResult> {
    const total: SettleResult = { released: 0, created: 0, kinds: [], dropped: 0 };
    const decided = [...directory.holds()].filter(([, hold]) => hold.status !== 'holding');
    if (decided.length === 0) return total;
    const addresses = JSON.stringify(decided.map(([address]) => address));
    const waiting = await rows<{ address: string }>(
      database.orm,
      sql`select a.address from jsonb_array_elements_text(${addresses}::jsonb) as a(address)
          where exists (select 1 from ${heldMessages} h where h.${hm.logicalAddress} = a.address)`,
    );
    for (const { address } of waiting) {
      const status = directory.holdOf(address)?.status;
      for (;;) {
        if (stopped) return total;
        if (status === 'released') {
          const result = await database.orm.transaction((tx) => releaseHeldChunk(tx, address, chunk));
          total.released += result.released;
          total.created += result.created;
          total.kinds.push(...result.kinds);
          if (result.released < chunk) break;
        } else if (status === 'dropped' || status === 'expired') {
          const dropped = await dropHeldChunk(database.orm, address, chunk);
          total.dropped += dropped;
          if (dropped < chunk) break;
        } else {
          break;
        }
      }
      log.info(
        { logicalAddress: address, status, released: total.released, created: total.created, dropped: total.dropped },
        'held messages settled',
      );
    }
    if (total.released + total.dropped > 0) deps.onSettled?.(total);
    return total;
  }

  // One sweep at a time; a tick while one runs is skipped (a long release goes on in its own loop).
  function queued(): Promise<SettleResult> {
    const next = running.then(sweep);
    running = next.catch(() => {});
    return next;
  }
  let busy = false;
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    queued()
      .catch((error: unknown) =>
        log.warn(
          { reason: error instanceof Error ? error.message.split('\n')[0] : 'unknown' },
          'held messages: sweep failed; trying again',
        ),
      )
      .finally(() => {
        busy = false;
      });
  }, deps.intervalMs ?? 1000);
  timer.unref();

  return {
    sweep: queued,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
