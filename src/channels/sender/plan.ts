// Planning: the waiting notification requests of a citizen whose oldest request is at least
// NOTIFY_DIGEST_SECONDS old become one delivery per enabled channel; a delivery still waiting for that
// citizen and channel (quiet hours, daily cap, backoff) takes them in instead. Citizens without any channel
// (most) are settled in one statement; the others one transaction each, with set-based statements inside.
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { columnNames, decodeCount, decodeId, rows, type Database, type Executor } from '../../db/index.js';
import {
  citizenChannelSettings as settings,
  notificationDeliveries as deliveries,
  notificationDeliveryMessages as deliveryMessages,
  notificationRequests as requestsTable,
} from '../schema.js';
import type { Channel } from './sms-rules.js';
import { instant } from './rules.js';

// The raw statements name tables and columns through the schema (a renamed column no longer compiles).
const r = columnNames(requestsTable);
const s = columnNames(settings);
const d = columnNames(deliveries);
/** The waiting delivery of a citizen and channel: a literal, as in the partial unique index it infers. */
const waiting = sql`${d.status} = 'pending'`;

const CHANNELS: readonly Channel[] = ['sms', 'email'];
/** Citizens planned per round; the rest wait for the next (a round that planned goes on at once). */
const CITIZENS_PER_ROUND = 200;

/** Planned requests (with or without a delivery) this round. */
export async function plan(database: Database, digestSeconds: number, at: Date): Promise<number> {
  const windowStart = new Date(at.getTime() - digestSeconds * 1000);
  // Most citizens have no channel turned on: their requests are settled in one statement, so that a
  // bulk of messages (a care unit's initial load, a busy hour) does not queue up behind them.
  const [silent] = await rows<{ count: number | string }>(
    database.orm,
    sql`with settled as (
          update ${requestsTable} r set ${r.plannedAt} = ${instant(at)}
           where r.${r.plannedAt} is null and r.${r.createdAt} <= ${instant(windowStart)}
             and not exists (select 1 from ${settings} s
                              where s.${s.resident} = r.${r.resident} and (s.${s.smsEnabled} or s.${s.emailEnabled}))
          returning 1)
        select count(*) as count from settled`,
  );
  const settledWithoutChannel = decodeCount(silent?.count);
  const citizens = await rows<{ resident: string }>(
    database.orm,
    sql`select ${r.resident} from ${requestsTable}
         where ${r.plannedAt} is null
      group by ${r.resident}
        having min(${r.createdAt}) <= ${instant(windowStart)}
         limit ${CITIZENS_PER_ROUND}`,
  );
  let planned = 0;
  for (const { resident } of citizens) {
    planned += await database.orm.transaction((tx) => planCitizen(tx, resident, at));
  }
  return planned + settledWithoutChannel;
}

async function planCitizen(tx: Executor, resident: string, at: Date): Promise<number> {
  const requests = await tx
    .select({ id: requestsTable.id, messageId: requestsTable.messageId })
    .from(requestsTable)
    .where(and(eq(requestsTable.resident, resident), isNull(requestsTable.plannedAt)))
    .orderBy(asc(requestsTable.id))
    .for('update', { skipLocked: true });
  if (requests.length === 0) return 0;
  const targets = await targetsOf(tx, resident);
  for (const channel of CHANNELS) {
    if (targets[channel] === null) continue;
    const deliveryId = await waitingDelivery(tx, resident, channel, at);
    // The primary key (message, channel) makes a second delivery for the same message impossible.
    await tx
      .insert(deliveryMessages)
      .values(requests.map((request) => ({ messageId: request.messageId, channel, deliveryId })))
      .onConflictDoNothing();
  }
  await tx
    .update(requestsTable)
    .set({ plannedAt: at })
    .where(
      inArray(
        requestsTable.id,
        requests.map((request) => request.id),
      ),
    );
  return requests.length;
}

async function targetsOf(executor: Executor, resident: string): Promise<Record<Channel, string | null>> {
  const [row] = await executor
    .select({
      smsEnabled: settings.smsEnabled,
      smsPhone: settings.smsPhone,
      emailEnabled: settings.emailEnabled,
      emailAddress: settings.emailAddress,
    })
    .from(settings)
    .where(eq(settings.resident, resident));
  return {
    sms: row?.smsEnabled ? row.smsPhone : null,
    email: row?.emailEnabled ? row.emailAddress : null,
  };
}

/** The citizen's waiting delivery on a channel, created if there is none; locked for this transaction. */
async function waitingDelivery(executor: Executor, resident: string, channel: Channel, at: Date): Promise<number> {
  for (let round = 0; round < 5; round++) {
    const [created] = await executor
      .insert(deliveries)
      .values({ resident, channel, status: 'pending', notBefore: at, createdAt: at, updatedAt: at })
      .onConflictDoNothing({ target: [deliveries.resident, deliveries.channel], where: waiting })
      .returning({ id: deliveries.id });
    if (created) return created.id;
    const [existing] = await executor
      .select({ id: deliveries.id })
      .from(deliveries)
      .where(and(eq(deliveries.resident, resident), eq(deliveries.channel, channel), waiting))
      .for('update');
    // Claimed between the two statements: try again, a new delivery will do.
    if (existing) return existing.id;
  }
  throw new Error('could not find or create a waiting delivery');
}

/**
 * While a delivery was out, newer messages may have opened a new waiting delivery for the same citizen
 * and channel; folding it into this one keeps one SMS / e-mail (and the unique index) intact.
 */
export async function foldWaiting(tx: Executor, id: number): Promise<void> {
  const [other] = await rows<{ id: number | string }>(
    tx,
    sql`select w.${d.id} from ${deliveries} w join ${deliveries} own on own.${d.id} = ${id}
         where w.${d.resident} = own.${d.resident} and w.${d.channel} = own.${d.channel} and w.${d.status} = 'pending'
           and w.${d.id} <> own.${d.id}
         for update of w`,
  );
  if (other) {
    const otherId = decodeId(other.id);
    await tx.update(deliveryMessages).set({ deliveryId: id }).where(eq(deliveryMessages.deliveryId, otherId));
    await tx.delete(deliveries).where(eq(deliveries.id, otherId));
  }
}
