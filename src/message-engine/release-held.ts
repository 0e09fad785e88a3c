// The release of held deletes: a delete of a booking or an invitation is held for the rebooking window
// (decide.ts); when the window has ended, decideRelease says what it becomes (a cancellation, or nothing),
// and its effects are written like a notification's, in one transaction. Runs on a loop of its own
// (engine.ts), so that a round waiting for a slow producer never delays a cancellation.
import { sql } from 'drizzle-orm';
import { columnNames, rows } from '../db/index.js';
import { firstTryNewPostPending } from '../queue/index.js';
import { decideRelease, type HeldDelete, type PostRef } from './decide.js';
import { decisionRecord, logDecisions, recordDecisions, type DecisionRecord } from './decision-log.js';
import { BatchEffects, toHeld, writeEffects, type HeldRow } from './effects.js';
import type { EngineOptions } from './engine.js';
import { heldCancellations } from './schema.js';

// The held deletes' columns named through the schema; 'held' stays a literal (the partial index needs it).
const hc = columnNames(heldCancellations);

/** What the release needs: the engine's options, with its defaults applied (engine.ts). */
export type ReleaseDependencies = Pick<
  EngineOptions,
  'database' | 'directory' | 'renderer' | 'log' | 'activity' | 'onMessagesCreated'
> &
  Required<Pick<EngineOptions, 'releaseGraceMs' | 'now'>>;

/** Releases up to 500 held deletes whose window ended; resolves to the number released. */
export function createHeldReleaser(deps: ReleaseDependencies): () => Promise<number> {
  const { database, directory, renderer, log } = deps;
  async function releaseDueHolds(): Promise<number> {
    return database.orm
      .transaction(async (tx) => {
        // A new post of the same citizen and system delivered inside the window that is still on its first
        // try may turn the cancellation into a rebooking: it is awaited for a short grace after the window.
        // One whose producer is failing (or anything beyond the grace) is not: the citizen hears of the
        // cancellation within seconds of the window's end whatever other care units are doing, and of the
        // new booking (a confirmation) once its producer answers.
        const moment = deps.now();
        const graceEnded = new Date(moment.getTime() - deps.releaseGraceMs).toISOString();
        const due = await rows<HeldRow & { booking_id: string | null }>(
          tx,
          sql`select h.*, p.booking_id
            from ${heldCancellations} h left join booking_post p on p.key_hash = h.${hc.keyHash}
            where h.${hc.status} = 'held' and h.${hc.dueAt} <= ${moment.toISOString()}::timestamptz
              and (h.${hc.dueAt} <= ${graceEnded}::timestamptz or not ${firstTryNewPostPending({
                resident: sql`h.${hc.resident}`,
                sourceSystem: sql`h.${hc.sourceSystem}`,
                from: sql`h.${hc.deletedAt}`,
                until: sql`h.${hc.dueAt}`,
              })})
            order by h.${hc.dueAt} limit 500
            for update of h skip locked`,
        );
        if (due.length === 0) return { released: 0, kinds: [] as string[], decisions: [] as DecisionRecord[] };
        const effects = new BatchEffects(renderer);
        const decisions: DecisionRecord[] = [];
        for (const row of due) {
          const held: HeldDelete = toHeld(row);
          const post: PostRef = {
            keyHash: row.key_hash,
            resident: row.resident,
            sourceSystem: row.source_system,
            logicalAddress: row.logical_address,
            bookingId: row.booking_id ?? held.details?.bookingId ?? '',
            categorization: row.categorization,
          };
          const decision = decideRelease({ ...held, post }, moment);
          // A cancellation at a care unit the flood guard holds waits with the unit's other messages.
          effects.add(
            decision.actions,
            `held:${held.id}`,
            held.id,
            new Map(),
            [held],
            directory.holdOf(row.logical_address)?.status === 'holding',
          );
          decisions.push(decisionRecord({ heldId: held.id, post, decision, cause: `held:${held.id}` }));
        }
        // Stale cannot be here (the held rows are locked for this transaction); were it so, nothing is written.
        if ((await writeEffects(tx, effects)).kind === 'stale') tx.rollback();
        await recordDecisions(tx, decisions);
        return { released: due.length, kinds: effects.messages.map((message) => message.kind), decisions };
      })
      .then(async ({ released, kinds, decisions }) => {
        if (kinds.length > 0) deps.onMessagesCreated?.(kinds);
        logDecisions(log, decisions);
        if (decisions.length > 0) {
          await deps.activity?.recordEngine(
            decisions.map((record) => ({
              sourceSystem: record.sourceSystem,
              counter: record.messageKind ?? 'no_message',
            })),
          );
        }
        return released;
      });
  }
  return releaseDueHolds;
}
