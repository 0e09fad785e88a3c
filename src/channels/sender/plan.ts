// Planning: the waiting notification requests of a citizen whose oldest request is at least
// NOTIFY_DIGEST_SECONDS old become one delivery per enabled channel; a delivery still waiting for that
// citizen and channel (quiet hours, daily cap, backoff) takes them in instead. Citizens without any channel
// (most) are settled in one statement; the others one transaction each, with set-based statements inside.
import { sql } from 'drizzle-orm';
import { rows, type Database, type Executor } from '../../db/index.js';
import type { Channel } from './sms-rules.js';
import { instant } from './rules.js';

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
          update notification_request r set planned_at = ${instant(at)}
           where r.planned_at is null and r.created_at <= ${instant(windowStart)}
             and not exists (select 1 from citizen_channel_settings s
                              where s.resident = r.resident and (s.sms_enabled or s.email_enabled))
          returning 1)
        select count(*) as count from settled`,
  );
  const settledWithoutChannel = Number(silent?.count ?? 0);
  const citizens = await rows<{ resident: string }>(
    database.orm,
    sql`select resident from notification_request
         where planned_at is null
      group by resident
        having min(created_at) <= ${instant(windowStart)}
         limit ${CITIZENS_PER_ROUND}`,
  );
  let planned = 0;
  for (const { resident } of citizens) {
    planned += await database.orm.transaction((tx) => planCitizen(tx, resident, at));
  }
  return planned + settledWithoutChannel;
}

async function planCitizen(tx: Executor, resident: string, at: Date): Promise<number> {
  const requests = await rows<{ id: number; message_id: number }>(
    tx,
    sql`select id, message_id from notification_request
         where resident = ${resident} and planned_at is null
         order by id for update skip locked`,
  );
  if (requests.length === 0) return 0;
  const targets = await targetsOf(tx, resident);
  for (const channel of CHANNELS) {
    if (targets[channel] === null) continue;
    const deliveryId = await waitingDelivery(tx, resident, channel, at);
    // The primary key (message, channel) makes a second delivery for the same message impossible.
    const values = sql.join(
      requests.map((request) => sql`(${Number(request.message_id)}::bigint, ${channel}, ${deliveryId}::bigint)`),
      sql`, `,
    );
    await tx.execute(
      sql`insert into notification_delivery_message (message_id, channel, delivery_id) values ${values} on conflict do nothing`,
    );
  }
  await tx.execute(
    sql`update notification_request set planned_at = ${instant(at)}
         where id in (${sql.join(
           requests.map((request) => sql`${Number(request.id)}`),
           sql`, `,
         )})`,
  );
  return requests.length;
}

async function targetsOf(executor: Executor, resident: string): Promise<Record<Channel, string | null>> {
  const [row] = await rows<{
    sms_enabled: boolean;
    sms_phone: string | null;
    email_enabled: boolean;
    email_address: string | null;
  }>(
    executor,
    sql`select sms_enabled, sms_phone, email_enabled, email_address from citizen_channel_settings where resident = ${resident}`,
  );
  return {
    sms: row?.sms_enabled ? row.sms_phone : null,
    email: row?.email_enabled ? row.email_address : null,
  };
}

/** The citizen's waiting delivery on a channel, created if there is none; locked for this transaction. */
async function waitingDelivery(executor: Executor, resident: string, channel: Channel, at: Date): Promise<number> {
  for (let round = 0; round < 5; round++) {
    const [created] = await rows<{ id: number }>(
      executor,
      sql`insert into notification_delivery (resident, channel, status, not_before, created_at, updated_at)
          values (${resident}, ${channel}, 'pending', ${instant(at)}, ${instant(at)}, ${instant(at)})
          on conflict (resident, channel) where status = 'pending' do nothing
          returning id`,
    );
    if (created) return Number(created.id);
    const [existing] = await rows<{ id: number }>(
      executor,
      sql`select id from notification_delivery
           where resident = ${resident} and channel = ${channel} and status = 'pending' for update`,
    );
    // Claimed between the two statements: try again, a new delivery will do.
    if (existing) return Number(existing.id);
  }
  throw new Error('could not find or create a waiting delivery');
}

/**
 * While a delivery was out, newer messages may have opened a new waiting delivery for the same citizen
 * and channel; folding it into this one keeps one SMS / e-mail (and the unique index) intact.
 */
export async function foldWaiting(tx: Executor, id: number): Promise<void> {
  const [other] = await rows<{ id: number }>(
    tx,
    sql`select d.id from notification_delivery d join notification_delivery own on own.id = ${id}
         where d.resident = own.resident and d.channel = own.channel and d.status = 'pending' and d.id <> own.id
         for update of d`,
  );
  if (other) {
    await tx.execute(
      sql`update notification_delivery_message set delivery_id = ${id} where delivery_id = ${Number(other.id)}`,
    );
    await tx.execute(sql`delete from notification_delivery where id = ${Number(other.id)}`);
  }
}
