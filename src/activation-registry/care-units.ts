// The registry's use cases for care units (logical addresses): silent loading periods set by an
// administrator, and the flood guard's holds that an administrator releases or drops. Every change is
// audited and announced (NOTIFY) in the same transaction, like the source systems' changes. Used by the
// API, the CLI and the /admin page.
import { and, desc, eq, gt, isNotNull, or, sql, type SQL } from 'drizzle-orm';
import type { Environment } from '../config.js';
import { parseSwedishLocalTime as swedishLocal } from '../time/index.js';
import type { Database, Orm } from '../db/index.js';
import { SOURCE_SYSTEM_CHANNEL } from './directory.js';
import type { HoldStatus } from './flood-guard.js';
import { GUARD_ACTOR } from './guard-store.js';
import { RegistryError } from './registry.js';
import { auditLog, careUnitGuards as guards, careUnitLoads } from './schema.js';
import { checkEnvironment, describeProblems, type FieldProblem } from './validation.js';

export const CARE_UNIT_AUDIT = {
  loadEntity: 'care_unit_load',
  unitEntity: 'care_unit',
  addLoad: 'care_unit_load.add',
  endLoad: 'care_unit_load.end',
  hold: 'care_unit.hold',
  release: 'care_unit.release',
  drop: 'care_unit.drop',
  expire: 'care_unit.expire',
} as const;

/** A loading period may be at most this long: a forgotten one must not silence a unit for good. */
export const MAX_LOAD_DAYS = 31;
export const MAX_NOTE_LENGTH = 200;
const MAX_ADDRESS_LENGTH = 64;

export interface CareUnitLoad {
  id: number;
  environment: Environment;
  logicalAddress: string;
  startsAt: string;
  /** As planned. */
  endsAt: string;
  /** Set when ended early by an administrator. */
  endedAt: string | null;
  note: string | null;
  createdAt: string;
  /** Whether it applies right now. */
  current: boolean;
}

export interface GuardedUnit {
  environment: Environment;
  logicalAddress: string;
  firstSeenAt: string;
  lastSeenAt: string;
  /** Watched (new or returning) until then; null: not watched. */
  watchedUntil: string | null;
  /** New posts in the current window of the watch. */
  windowPosts: number;
  hold: {
    status: HoldStatus;
    startedAt: string | null;
    /** Notifications delivered while held. */
    notifications: number;
    lastNotificationAt: string | null;
    decidedAt: string | null;
    decidedBy: string | null;
  } | null;
  /** Messages waiting in the hold now, and for how many citizens. */
  heldMessages: number;
  citizens: number;
  oldestHeldAt: string | null;
}

export interface HeldCounts {
  messages: number;
  citizens: number;
  oldestHeldAt: Date | undefined;
}

export interface CareUnitAdministration {
  listLoads(filter?: { environment?: Environment; includeEnded?: boolean }): Promise<CareUnitLoad[]>;
  /** `input`: { environment, logicalAddress, until, from?, note? }; throws RegistryError `invalid`. */
  addLoad(actor: string, input: unknown, now?: Date): Promise<CareUnitLoad>;
  /** Ends a loading period now; throws RegistryError `not_found` or `load_ended`. */
  endLoad(actor: string, id: number): Promise<CareUnitLoad>;
  /** Units the guard watches now or has held (newest hold first). */
  listGuarded(filter?: { environment?: Environment }): Promise<GuardedUnit[]>;
  findGuarded(environment: Environment, logicalAddress: string): Promise<GuardedUnit | undefined>;
  /** The held messages become messages (oldest first); throws `not_found` or `not_held`. */
  release(actor: string, environment: Environment, logicalAddress: string): Promise<GuardedUnit>;
  /** The held messages are dropped (post state kept); throws `not_found` or `not_held`. */
  drop(actor: string, environment: Environment, logicalAddress: string): Promise<GuardedUnit>;
  /** Dropped by the service after waiting too long (actor system:flood-guard); false when no longer held. */
  expire(environment: Environment, logicalAddress: string): Promise<boolean>;
}

export interface CareUnitOptions {
  /** Messages held per care unit (the inbox's held_message), for the counts. */
  heldCounts?: () => Promise<Map<string, HeldCounts>>;
  /** After each committed change (the local directory's refresh). */
  afterChange?: () => Promise<void>;
}

type Transaction = Parameters<Parameters<Orm['transaction']>[0]>[0];
type LoadRow = typeof careUnitLoads.$inferSelect;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** An instant from "2026-12-01T14:00" (Swedish local time) or an ISO 8601 time with a zone. */
export function parseAdminTime(value: string): Date | undefined {
  const text = value.trim().slice(0, 40);
  const local = LOCAL_TIME.exec(text);
  if (local) {
    const [, y, mo, d, h, mi, s] = local;
    return swedishLocal(`${y}${mo}${d}${h}${mi}${s ?? '00'}`);
  }
  if (!ZONED_TIME.test(text)) return undefined;
  const instant = new Date(text);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

function checkAddress(value: unknown, problems: FieldProblem[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push({
      rule: 'required',
      field: 'logicalAddress',
      message: "logicalAddress is required: the care unit's HSA-id (EI's logicalAddress)",
    });
  } else if (value !== value.trim()) {
    problems.push({
      rule: 'surrounding_white_space',
      field: 'logicalAddress',
      message: 'logicalAddress must not start or end with white space',
    });
  } else if (value.length > MAX_ADDRESS_LENGTH) {
    problems.push({
      rule: 'too_long',
      field: 'logicalAddress',
      message: `logicalAddress must be at most ${MAX_ADDRESS_LENGTH} characters, got ${value.length}`,
    });
  } else if (CONTROL_CHARACTERS.test(value)) {
    problems.push({
      rule: 'control_characters',
      field: 'logicalAddress',
      message: 'logicalAddress must not contain control characters',
    });
  } else {
    return value;
  }
  return undefined;
}

function checkTime(field: string, value: unknown, problems: FieldProblem[]): Date | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push({
      rule: 'required',
      field,
      message: `${field} is required: a time such as "2026-12-01T14:00" (Swedish time) or with a zone`,
    });
    return undefined;
  }
  const instant = parseAdminTime(value);
  if (!instant) {
    problems.push({
      rule: 'not_allowed_value',
      field,
      message: `${field} must be a time such as "2026-12-01T14:00" (Swedish time) or "2026-12-01T13:00:00Z"`,
    });
  }
  return instant;
}

export interface LoadInput {
  environment: Environment;
  logicalAddress: string;
  from: Date;
  until: Date;
  note: string | undefined;
}

/** A new loading period: pure, shared by the API, the CLI and the page. */
export function checkLoad(
  input: unknown,
  now: Date,
): { ok: true; value: LoadInput } | { ok: false; problems: FieldProblem[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      problems: [
        {
          rule: 'not_an_object',
          field: '',
          message: 'expected a JSON object with environment, logicalAddress and until',
        },
      ],
    };
  }
  const body = input as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  for (const field of Object.keys(body)) {
    if (!['environment', 'logicalAddress', 'from', 'until', 'note'].includes(field)) {
      problems.push({
        rule: 'unknown_field',
        field,
        message: `${field} is not a field here (allowed: environment, logicalAddress, from, until, note)`,
      });
    }
  }
  const environment = checkEnvironment(body.environment, problems);
  const logicalAddress = checkAddress(body.logicalAddress, problems);
  const from = body.from === undefined || body.from === '' ? now : checkTime('from', body.from, problems);
  const until = checkTime('until', body.until, problems);
  let note: string | undefined;
  if (body.note !== undefined && body.note !== null && body.note !== '') {
    note = typeof body.note === 'string' ? body.note.trim() : undefined;
    if (note === undefined || note.length > MAX_NOTE_LENGTH || CONTROL_CHARACTERS.test(note)) {
      problems.push({
        rule: 'too_long',
        field: 'note',
        message: `note must be text of at most ${MAX_NOTE_LENGTH} characters without control characters`,
      });
    }
  }
  if (from && until) {
    // A period is judged by delivery time, so a past start would change nothing already delivered.
    if (from.getTime() < now.getTime() - 60_000) {
      problems.push({
        rule: 'not_allowed_value',
        field: 'from',
        message: 'from must not be in the past (leave it out to start now)',
      });
    }
    if (until.getTime() <= Math.max(from.getTime(), now.getTime())) {
      problems.push({
        rule: 'not_allowed_value',
        field: 'until',
        message: 'until must be later than from and than now',
      });
    } else if (until.getTime() - from.getTime() > MAX_LOAD_DAYS * 86_400_000) {
      problems.push({
        rule: 'not_allowed_value',
        field: 'until',
        message: `a loading period may last at most ${MAX_LOAD_DAYS} days`,
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: { environment: environment!, logicalAddress: logicalAddress!, from: from!, until: until!, note },
  };
}

function toLoad(row: LoadRow, now = Date.now()): CareUnitLoad {
  const end = Math.min(row.endsAt.getTime(), row.endedAt?.getTime() ?? Infinity);
  return {
    id: row.id,
    environment: row.environment as Environment,
    logicalAddress: row.logicalAddress,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    endedAt: row.endedAt ? row.endedAt.toISOString() : null,
    note: row.note,
    createdAt: row.createdAt.toISOString(),
    current: row.startsAt.getTime() <= now && now < end,
  };
}

type GuardRow = typeof guards.$inferSelect;

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

function toGuarded(row: GuardRow, counts: HeldCounts | undefined): GuardedUnit {
  const watching = row.watchUntil !== null && row.watchUntil.getTime() > Date.now();
  return {
    environment: row.environment as Environment,
    logicalAddress: row.logicalAddress,
    firstSeenAt: row.firstSeenAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    watchedUntil: watching ? iso(row.watchUntil) : null,
    windowPosts: watching ? row.windowPosts : 0,
    hold: row.holdStatus
      ? {
          status: row.holdStatus as HoldStatus,
          startedAt: iso(row.holdStartedAt),
          notifications: row.heldPosts,
          lastNotificationAt: iso(row.lastHeldAt),
          decidedAt: iso(row.holdDecidedAt),
          decidedBy: row.holdDecidedBy,
        }
      : null,
    heldMessages: counts?.messages ?? 0,
    citizens: counts?.citizens ?? 0,
    oldestHeldAt: counts?.oldestHeldAt ? counts.oldestHeldAt.toISOString() : null,
  };
}

export function createCareUnitAdministration(
  database: Database,
  options: CareUnitOptions = {},
): CareUnitAdministration {
  const { orm } = database;

  async function announce(tx: Transaction, what: Record<string, unknown>): Promise<void> {
    await tx.execute(sql`select pg_notify(${SOURCE_SYSTEM_CHANNEL}, ${JSON.stringify(what)})`);
  }

  async function audit(
    tx: Transaction,
    actor: string,
    action: string,
    entity: string,
    entityId: string,
    before: unknown,
    after: unknown,
  ): Promise<void> {
    await tx.insert(auditLog).values({ actor, action, entity, entityId, before, after });
  }

  async function afterChange(): Promise<void> {
    await options.afterChange?.().catch(() => {});
  }

  async function counts(): Promise<Map<string, HeldCounts>> {
    return (await options.heldCounts?.()) ?? new Map();
  }

  const unit = (environment: Environment, logicalAddress: string): SQL =>
    and(eq(guards.environment, environment), eq(guards.logicalAddress, logicalAddress))!;

  async function decide(
    actor: string,
    environment: Environment,
    logicalAddress: string,
    status: HoldStatus,
    action: string,
  ): Promise<GuardedUnit | undefined> {
    const changed = await orm.transaction(async (tx) => {
      const [row] = await tx.select().from(guards).where(unit(environment, logicalAddress)).for('update');
      if (!row || row.holdStatus === null) {
        if (actor === GUARD_ACTOR) return undefined;
        throw new RegistryError('not_found', `${logicalAddress} has no hold in ${environment}`);
      }
      if (row.holdStatus !== 'holding') {
        if (actor === GUARD_ACTOR) return undefined;
        throw new RegistryError(
          'not_held',
          (
            `${logicalAddress} is not held in ${environment} (its last hold was ${row.holdStatus} ` +
            `${iso(row.holdDecidedAt) ?? ''})`
          ).trim(),
        );
      }
      // Decided: the unit is known from now on, so its later posts are messages as usual.
      const [after] = await tx
        .update(guards)
        .set({
          holdStatus: status,
          holdDecidedAt: sql`now()`,
          holdDecidedBy: actor,
          watchUntil: null,
          windowStartedAt: null,
          windowPosts: 0,
        })
        .where(unit(environment, logicalAddress))
        .returning();
      const unitId = `${environment}:${logicalAddress}`;
      await audit(
        tx,
        actor,
        action,
        CARE_UNIT_AUDIT.unitEntity,
        unitId,
        { logicalAddress, environment, hold: row.holdStatus, notifications: row.heldPosts },
        { logicalAddress, environment, hold: status },
      );
      await announce(tx, { careUnit: logicalAddress, environment });
      return after!;
    });
    if (!changed) return undefined;
    await afterChange();
    return toGuarded(changed, (await counts()).get(logicalAddress));
  }

  return {
    async listLoads(filter = {}) {
      const conditions: SQL[] = [];
      if (filter.environment) conditions.push(eq(careUnitLoads.environment, filter.environment));
      if (!filter.includeEnded) {
        conditions.push(
          sql`coalesce(least(${careUnitLoads.endedAt}, ${careUnitLoads.endsAt}), ${careUnitLoads.endsAt}) > now()`,
        );
      }
      const found = await orm
        .select()
        .from(careUnitLoads)
        .where(and(...conditions))
        .orderBy(desc(careUnitLoads.startsAt), desc(careUnitLoads.id))
        .limit(500);
      return found.map((row) => toLoad(row));
    },

    async addLoad(actor, input, now = new Date()) {
      if (actor.trim() === '') throw new TypeError('Every change needs an actor for the audit log');
      const checked = checkLoad(input, now);
      if (!checked.ok) throw new RegistryError('invalid', describeProblems(checked.problems), checked.problems);
      const load = checked.value;
      const created = await orm.transaction(async (tx) => {
        const [row] = await tx
          .insert(careUnitLoads)
          .values({
            environment: load.environment,
            logicalAddress: load.logicalAddress,
            startsAt: load.from,
            endsAt: load.until,
            note: load.note ?? null,
          })
          .returning();
        const result = toLoad(row!);
        await audit(tx, actor, CARE_UNIT_AUDIT.addLoad, CARE_UNIT_AUDIT.loadEntity, String(result.id), null, result);
        await announce(tx, { careUnitLoad: result.id, environment: result.environment });
        return result;
      });
      await afterChange();
      return created;
    },

    async endLoad(actor, id) {
      if (actor.trim() === '') throw new TypeError('Every change needs an actor for the audit log');
      if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647)
        throw new RegistryError('not_found', `No loading period with id ${id}`);
      const ended = await orm.transaction(async (tx) => {
        const [row] = await tx.select().from(careUnitLoads).where(eq(careUnitLoads.id, id)).for('update');
        if (!row) throw new RegistryError('not_found', `No loading period with id ${id}`);
        const before = toLoad(row);
        const end = Math.min(row.endsAt.getTime(), row.endedAt?.getTime() ?? Infinity);
        if (end <= Date.now())
          throw new RegistryError('load_ended', `Loading period ${id} of ${row.logicalAddress} has already ended`);
        const [updated] = await tx
          .update(careUnitLoads)
          .set({ endedAt: sql`now()` })
          .where(eq(careUnitLoads.id, id))
          .returning();
        const after = toLoad(updated!);
        await audit(tx, actor, CARE_UNIT_AUDIT.endLoad, CARE_UNIT_AUDIT.loadEntity, String(id), before, after);
        await announce(tx, { careUnitLoad: id, environment: after.environment });
        return after;
      });
      await afterChange();
      return ended;
    },

    async listGuarded(filter = {}) {
      const found = await orm
        .select()
        .from(guards)
        .where(
          and(
            filter.environment ? eq(guards.environment, filter.environment) : undefined,
            or(isNotNull(guards.holdStatus), gt(guards.watchUntil, sql`now()`)),
          ),
        )
        .orderBy(
          sql`(${guards.holdStatus} = 'holding') desc nulls last`,
          sql`${guards.holdStartedAt} desc nulls last`,
          desc(guards.firstSeenAt),
        )
        .limit(500);
      const held = await counts();
      return found.map((row) => toGuarded(row, held.get(row.logicalAddress)));
    },

    async findGuarded(environment, logicalAddress) {
      const [row] = await orm.select().from(guards).where(unit(environment, logicalAddress));
      return row ? toGuarded(row, (await counts()).get(logicalAddress)) : undefined;
    },

    async release(actor, environment, logicalAddress) {
      if (actor.trim() === '' || actor === GUARD_ACTOR)
        throw new TypeError('A release needs an administrator as actor');
      return (await decide(actor, environment, logicalAddress, 'released', CARE_UNIT_AUDIT.release))!;
    },

    async drop(actor, environment, logicalAddress) {
      if (actor.trim() === '' || actor === GUARD_ACTOR) throw new TypeError('A drop needs an administrator as actor');
      return (await decide(actor, environment, logicalAddress, 'dropped', CARE_UNIT_AUDIT.drop))!;
    },

    async expire(environment, logicalAddress) {
      return (await decide(GUARD_ACTOR, environment, logicalAddress, 'expired', CARE_UNIT_AUDIT.expire)) !== undefined;
    },
  };
}
