// The inbox's write side, for the message engine: the state of each EI post, the citizens' messages
// (each with its request for an SMS / e-mail notice, through channels), the messages the flood guard
// holds, and the care-unit relations. Every function runs inside the caller's transaction, so that a
// batch's decisions, its messages and the queue's completion commit together. Set-based statements: a
// round trip per batch, not per message.
import { sql } from 'drizzle-orm';
import { requestNotifications } from '../channels/index.js';
import { columnNames, decodeId, decodeJson, rows, type Executor } from '../db/index.js';
import type { BookingSnapshot, Categorization, MessageKind, StoredPost } from '../message-engine/index.js';
import { bookingPosts, careUnitRelations, heldMessages, inboxMessages } from './schema.js';

const json = (value: unknown) => JSON.stringify(value);
// Tables and columns named through the schema (a renamed column no longer compiles). The recordsets'
// fields (`p.key_hash`, `m.resident`...) are the JSON keys written below, not columns.
const bp = columnNames(bookingPosts);
const im = columnNames(inboxMessages);
const hm = columnNames(heldMessages);
const cr = columnNames(careUnitRelations);

/** What is known of one EI post (booking_post): the engine's StoredPost. */
export type PostState = StoredPost;

/** A message to create: unique per cause (a second with the same cause is not created). */
export interface NewInboxMessage {
  cause: string;
  kind: MessageKind;
  post: { resident: string; keyHash: string; logicalAddress: string };
  details: Pick<BookingSnapshot, 'healthcareFacility' | 'healthcareFacilityName'>;
  subject: string;
  body: string;
  booking: Record<string, unknown>;
}

/** The stored state of these posts, by key hash. */
export async function loadStoredPosts(db: Executor, keyHashes: readonly string[]): Promise<Map<string, PostState>> {
  const found = await rows<{
    key_hash: string;
    resident: string;
    source_system: string;
    logical_address: string;
    booking_id: string;
    categorization: Categorization;
    present: boolean;
    details: BookingSnapshot | string | null;
  }>(
    db,
    sql`select * from ${bookingPosts}
        where ${bp.keyHash} in (select jsonb_array_elements_text(${json(keyHashes)}::jsonb))`,
  );
  const posts = new Map<string, PostState>();
  for (const row of found) {
    const details = decodeJson<BookingSnapshot>(row.details);
    posts.set(row.key_hash, {
      keyHash: row.key_hash,
      resident: row.resident,
      sourceSystem: row.source_system,
      logicalAddress: row.logical_address,
      bookingId: row.booking_id,
      categorization: row.categorization,
      present: row.present,
      ...(details ? { details } : {}),
    });
  }
  return posts;
}

/** Writes the posts' new state (inserted or updated by key hash). */
export async function storePosts(tx: Executor, states: readonly PostState[]): Promise<void> {
  if (states.length === 0) return;
  const posts = states.map((p) => ({
    key_hash: p.keyHash,
    resident: p.resident,
    source_system: p.sourceSystem,
    logical_address: p.logicalAddress,
    booking_id: p.bookingId,
    categorization: p.categorization,
    present: p.present,
    details: p.details ?? null,
    start_at: p.details?.start ?? null,
  }));
  await tx.execute(sql`
    insert into ${bookingPosts} (${bp.keyHash}, ${bp.resident}, ${bp.sourceSystem}, ${bp.logicalAddress},
      ${bp.bookingId}, ${bp.categorization}, ${bp.present}, ${bp.details}, ${bp.startAt}, ${bp.updatedAt})
    select p.key_hash, p.resident, p.source_system, p.logical_address, p.booking_id, p.categorization, p.present,
      p.details, p.start_at, now()
    from jsonb_to_recordset(${json(posts)}::jsonb) as p(key_hash text, resident text, source_system text,
      logical_address text, booking_id text, categorization text, present boolean, details jsonb, start_at timestamptz)
    order by p.key_hash
    on conflict (${bp.keyHash}) do update set ${bp.present} = excluded.${bp.present},
      ${bp.details} = excluded.${bp.details}, ${bp.startAt} = excluded.${bp.startAt},
      ${bp.logicalAddress} = excluded.${bp.logicalAddress}, ${bp.updatedAt} = now()`);
}

const messageRows = (messages: readonly NewInboxMessage[]) =>
  messages.map((m) => ({
    logical_address: m.post.logicalAddress,
    resident: m.post.resident,
    kind: m.kind,
    subject: m.subject,
    body: m.body,
    care_unit_hsa_id: m.details.healthcareFacility,
    care_unit_name: m.details.healthcareFacilityName ?? null,
    booking: m.booking,
    key_hash: m.post.keyHash,
    cause: m.cause,
  }));

/**
 * Creates the messages (one per cause) and asks channels for a notice of each one created. Resolves to
 * the ids of the messages created, in id order.
 */
export async function createMessages(tx: Executor, messages: readonly NewInboxMessage[]): Promise<number[]> {
  if (messages.length === 0) return [];
  const created = await rows<{ id: string | number; resident: string }>(
    tx,
    sql`insert into ${inboxMessages}
          (${im.resident}, ${im.kind}, ${im.subject}, ${im.body}, ${im.careUnitHsaId}, ${im.careUnitName},
            ${im.booking}, ${im.keyHash}, ${im.cause})
        select m.resident, m.kind, m.subject, m.body, m.care_unit_hsa_id, m.care_unit_name, m.booking, m.key_hash,
          m.cause
        from jsonb_to_recordset(${json(messageRows(messages))}::jsonb) as m(resident text, kind text, subject text,
          body text, care_unit_hsa_id text, care_unit_name text, booking jsonb, key_hash text, cause text)
        on conflict (${im.cause}) do nothing
        returning ${im.id}, ${im.resident}`,
  );
  const made = created
    .map((row) => ({ resident: row.resident, messageId: decodeId(row.id) }))
    .sort((a, b) => a.messageId - b.messageId);
  await requestNotifications(tx, made);
  return made.map((message) => message.messageId);
}

/** Keeps the messages of a care unit the flood guard holds in held_message (held-messages.ts settles them). */
export async function holdMessages(tx: Executor, messages: readonly NewInboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.execute(sql`
    insert into ${heldMessages} (${hm.logicalAddress}, ${hm.resident}, ${hm.kind}, ${hm.subject}, ${hm.body},
      ${hm.careUnitHsaId}, ${hm.careUnitName}, ${hm.booking}, ${hm.keyHash}, ${hm.cause})
    select m.logical_address, m.resident, m.kind, m.subject, m.body, m.care_unit_hsa_id, m.care_unit_name, m.booking,
      m.key_hash, m.cause
    from jsonb_to_recordset(${json(messageRows(messages))}::jsonb) as m(logical_address text, resident text,
      kind text, subject text, body text, care_unit_hsa_id text, care_unit_name text, booking jsonb, key_hash text,
      cause text)
    on conflict (${hm.cause}) do nothing`);
}

/** Records (or renews) that a citizen has to do with a care unit. */
export async function recordCareUnits(
  tx: Executor,
  units: readonly { resident: string; hsaId: string; name?: string }[],
): Promise<void> {
  if (units.length === 0) return;
  const json_ = json(units.map((u) => ({ resident: u.resident, hsa_id: u.hsaId, name: u.name ?? null })));
  await tx.execute(sql`
    insert into ${careUnitRelations} (${cr.resident}, ${cr.careUnitHsaId}, ${cr.careUnitName})
    select u.resident, u.hsa_id, u.name from jsonb_to_recordset(${json_}::jsonb) as u(resident text, hsa_id text,
      name text)
    order by u.resident, u.hsa_id
    on conflict (${cr.resident}, ${cr.careUnitHsaId}) do update
      set ${cr.lastAt} = now(),
        ${cr.careUnitName} = coalesce(excluded.${cr.careUnitName}, ${careUnitRelations}.${cr.careUnitName})`);
}
