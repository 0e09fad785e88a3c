// The engine's view of stored state, and the writing of decisions. Decisions of a whole batch are
// collected in memory (one citizen's in order, each seeing the state the previous left) and written
// with a handful of set-based statements in one transaction: a round trip per batch, not per message.
import { sql } from 'drizzle-orm';
import { columnNames, decodeDate, decodeId, decodeJson, rows, type Executor } from '../db/index.js';
import { heldCancellations, securityEvents, type HeldStatus } from './schema.js';
import type {
  Action,
  BookingSnapshot,
  Categorization,
  HeldDelete,
  MessageKind,
  PostRef,
  StoredPost,
} from './decide.js';
import {
  bookingFacts,
  createMessages,
  holdMessages,
  recordCareUnits,
  storePosts,
  type NewInboxMessage,
} from '../inbox/index.js';
import type { MessageRenderer } from './render-message.js';

const json = (value: unknown) => JSON.stringify(value);
// Raw statements name their own tables' columns through the schema (a renamed column no longer compiles).
// The literal 'held' stays a literal: the partial indexes on held rows are used only when the query names it.
const hc = columnNames(heldCancellations);
const se = columnNames(securityEvents);

export interface HeldRow {
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

export function toHeld(row: HeldRow): HeldDelete {
  const details = decodeJson<BookingSnapshot>(row.details);
  return {
    id: decodeId(row.id),
    keyHash: row.key_hash,
    logicalAddress: row.logical_address,
    categorization: row.categorization,
    ...(details ? { details } : {}),
    deletedAt: decodeDate(row.deleted_at),
    dueAt: decodeDate(row.due_at),
  };
}

export const citizenSystem = (resident: string, sourceSystem: string) => `${resident}\u001f${sourceSystem}`;

/** Unresolved held deletes of these citizens, by citizen and source system. */
export async function loadHeldDeletes(db: Executor, residents: readonly string[]): Promise<Map<string, HeldDelete[]>> {
  const found = await rows<HeldRow>(
    db,
    sql`select * from ${heldCancellations}
        where ${hc.status} = 'held' and ${hc.resident} in (select jsonb_array_elements_text(${json(residents)}::jsonb))
        order by ${hc.id}`,
  );
  const held = new Map<string, HeldDelete[]>();
  for (const row of found) {
    const key = citizenSystem(row.resident, row.source_system);
    const list = held.get(key) ?? [];
    list.push(toHeld(row));
    held.set(key, list);
  }
  return held;
}

interface NewHold {
  post: PostRef;
  details?: BookingSnapshot;
  deletedAt: Date;
  dueAt: Date;
  sourceNotificationId: number;
  status: HeldStatus;
}

interface NewMessage extends NewInboxMessage {
  kind: MessageKind;
  post: PostRef;
  details: BookingSnapshot;
}

/**
 * What a batch of decisions writes. Holds made inside the batch get negative ids, so that a delete and
 * the new post that completes it in the same batch (one call, use case 7) find each other.
 */
export class BatchEffects {
  readonly posts = new Map<string, StoredPost>();
  readonly newHolds = new Map<number, NewHold>();
  readonly resolvedHolds = new Map<number, Exclude<HeldStatus, 'held'>>();
  readonly messages: NewMessage[] = [];
  /** Messages held back by the flood guard (held_message), made exactly like the others. */
  readonly heldMessages: NewMessage[] = [];
  readonly careUnits = new Map<string, { resident: string; hsaId: string; name?: string }>();
  readonly securityEvents: {
    kind: string;
    logicalAddress: string;
    bookingId: string;
    sourceNotificationId: number;
    detail: string;
  }[] = [];
  private nextTemporaryId = -1;

  constructor(private readonly renderer: MessageRenderer) {}

  /**
   * Adds one decision. `heldOfCitizen` is the live list of the citizen's unresolved holds for the
   * source system; it is updated here, as is `stored`, so that the next decision sees them. With
   * `heldByGuard`, its messages go to held_message (care-unit relations follow when they are released).
   */
  add(
    actions: readonly Action[],
    cause: string,
    sourceNotificationId: number,
    stored: Map<string, StoredPost>,
    heldOfCitizen: HeldDelete[],
    heldByGuard = false,
  ): void {
    for (const action of actions) {
      switch (action.type) {
        case 'store-post':
          this.posts.set(action.post.keyHash, action.post);
          stored.set(action.post.keyHash, action.post);
          break;
        case 'hold-delete': {
          const id = this.nextTemporaryId--;
          this.newHolds.set(id, {
            post: action.post,
            ...(action.details ? { details: action.details } : {}),
            deletedAt: action.deletedAt,
            dueAt: action.dueAt,
            sourceNotificationId,
            status: 'held',
          });
          heldOfCitizen.push({
            id,
            keyHash: action.post.keyHash,
            logicalAddress: action.post.logicalAddress,
            categorization: action.post.categorization,
            ...(action.details ? { details: action.details } : {}),
            deletedAt: action.deletedAt,
            dueAt: action.dueAt,
          });
          break;
        }
        case 'resolve-held': {
          const created = this.newHolds.get(action.id);
          if (created) created.status = action.status;
          else this.resolvedHolds.set(action.id, action.status);
          const index = heldOfCitizen.findIndex((held) => held.id === action.id);
          if (index >= 0) heldOfCitizen.splice(index, 1);
          break;
        }
        case 'create-message': {
          const rendered = this.renderer(action.kind, action.details, action.previous);
          (heldByGuard ? this.heldMessages : this.messages).push({
            cause,
            kind: action.kind,
            post: action.post,
            details: action.details,
            subject: rendered.subject,
            body: rendered.body,
            booking: bookingJson(action.post, action.details, action.previous),
          });
          break;
        }
        case 'record-care-unit': {
          if (heldByGuard) break;
          const key = `${action.resident}\u001f${action.hsaId}`;
          const known = this.careUnits.get(key);
          this.careUnits.set(key, {
            resident: action.resident,
            hsaId: action.hsaId,
            ...((action.name ?? known?.name) ? { name: action.name ?? known!.name! } : {}),
          });
          break;
        }
        case 'security-event':
          this.securityEvents.push({
            kind: action.kind,
            logicalAddress: action.post.logicalAddress,
            bookingId: action.post.bookingId,
            sourceNotificationId,
            detail: action.detail,
          });
          break;
      }
    }
  }
}

export function bookingJson(
  post: PostRef,
  details: BookingSnapshot,
  previous?: BookingSnapshot,
): Record<string, unknown> {
  return {
    bookingId: post.bookingId,
    categorization: post.categorization,
    start: details.start ?? null,
    end: details.end ?? null,
    ...(previous ? { previousStart: previous.start ?? null, previousEnd: previous.end ?? null } : {}),
    ...bookingFacts(details),
  };
}

/**
 * Writes the effects inside the caller's transaction. `stale`: a held delete the decisions resolved was
 * resolved meanwhile; the caller must roll back (nothing after that point was written).
 */
export async function writeEffects(
  tx: Executor,
  effects: BatchEffects,
): Promise<{ kind: 'written'; messageIds: number[] } | { kind: 'stale' }> {
  await storePosts(tx, [...effects.posts.values()]);
  if (effects.resolvedHolds.size > 0) {
    const resolved = [...effects.resolvedHolds.entries()].map(([id, status]) => ({ id, status }));
    const updated = await rows<{ id: number }>(
      tx,
      sql`update ${heldCancellations} h set ${hc.status} = r.status, ${hc.resolvedAt} = now()
          from jsonb_to_recordset(${json(resolved)}::jsonb) as r(id bigint, status text)
          where h.${hc.id} = r.id and h.${hc.status} = 'held' returning h.${hc.id}`,
    );
    if (updated.length !== resolved.length) return { kind: 'stale' };
  }
  if (effects.newHolds.size > 0) {
    const holds = [...effects.newHolds.values()].map((h) => ({
      resident: h.post.resident,
      source_system: h.post.sourceSystem,
      key_hash: h.post.keyHash,
      logical_address: h.post.logicalAddress,
      categorization: h.post.categorization,
      details: h.details ?? null,
      deleted_at: h.deletedAt.toISOString(),
      due_at: h.dueAt.toISOString(),
      status: h.status,
      source_notification_id: h.sourceNotificationId,
    }));
    await tx.execute(sql`
      insert into ${heldCancellations} (${hc.resident}, ${hc.sourceSystem}, ${hc.keyHash}, ${hc.logicalAddress},
        ${hc.categorization}, ${hc.details}, ${hc.deletedAt}, ${hc.dueAt}, ${hc.status}, ${hc.sourceNotificationId},
        ${hc.resolvedAt})
      select h.resident, h.source_system, h.key_hash, h.logical_address, h.categorization, h.details, h.deleted_at,
        h.due_at, h.status, h.source_notification_id, case when h.status = 'held' then null else now() end
      from jsonb_to_recordset(${json(holds)}::jsonb) as h(resident text, source_system text, key_hash text,
        logical_address text, categorization text, details jsonb, deleted_at timestamptz, due_at timestamptz,
        status text, source_notification_id bigint)`);
  }
  // Messages (each with its channel request) and held messages are the inbox's to write.
  const messageIds = await createMessages(tx, effects.messages);
  await holdMessages(tx, effects.heldMessages);
  await recordCareUnits(tx, [...effects.careUnits.values()]);
  if (effects.securityEvents.length > 0) {
    const events = effects.securityEvents.map((e) => ({
      kind: e.kind,
      logical_address: e.logicalAddress,
      booking_id: e.bookingId,
      source_notification_id: e.sourceNotificationId,
      detail: e.detail,
    }));
    await tx.execute(sql`
      insert into ${securityEvents} (${se.kind}, ${se.logicalAddress}, ${se.bookingId}, ${se.sourceNotificationId},
        ${se.detail})
      select e.kind, e.logical_address, e.booking_id, e.source_notification_id, e.detail
      from jsonb_to_recordset(${json(events)}::jsonb) as e(kind text, logical_address text, booking_id text,
        source_notification_id bigint, detail text)`);
  }
  return { kind: 'written', messageIds };
}
