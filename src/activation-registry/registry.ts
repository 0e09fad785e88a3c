// The registry's use cases: register, change and deactivate booking systems per environment, each
// change audited and announced in the same transaction. Used by the API, the CLI and the /admin page.
import { and, desc, eq, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { Environment } from '../config.js';
import type { Database, Orm } from '../db/index.js';
import { SOURCE_SYSTEM_CHANNEL, type SourceSystemMode } from './directory.js';
import { auditLog, sourceSystems } from './schema.js';
import { checkChange, checkRegistration, describeProblems, type FieldProblem } from './validation.js';

export interface SourceSystem {
  id: number;
  environment: Environment;
  hsaId: string;
  name: string;
  mode: SourceSystemMode;
  createdAt: string;
  updatedAt: string;
  /** Set when deactivated; the registration then no longer applies, its history stays. */
  deactivatedAt: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  before: unknown;
  after: unknown;
}

export type RegistryErrorKind = 'invalid' | 'not_found' | 'duplicate' | 'deactivated' | 'not_held' | 'load_ended';

export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    readonly problems: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export const AUDIT_ENTITY = 'source_system';
export const AUDIT_ACTIONS = {
  register: 'source_system.register',
  change: 'source_system.change',
  deactivate: 'source_system.deactivate',
} as const;
export const MAX_AUDIT_PAGE = 1000;

export interface ListFilter {
  environment?: Environment;
  /** Also deactivated registrations (history); default only live ones. */
  includeDeactivated?: boolean;
}

export interface AuditQuery {
  limit?: number;
  /** Entries older than this id (the previous page's last id). */
  before?: number;
  /** Only entries about this source system. */
  sourceSystemId?: number;
  /** Only entries about this kind of thing (the audit log is shared; e.g. "source_system"). */
  entity?: string;
}

export interface SourceSystemRegistry {
  list(filter?: ListFilter): Promise<SourceSystem[]>;
  /** Any registration by id, live or deactivated. */
  find(id: number): Promise<SourceSystem | undefined>;
  /** The live registration of an HSA-id in an environment. */
  findLive(environment: Environment, hsaId: string): Promise<SourceSystem | undefined>;
  /** `input` is checked here (checkRegistration); throws RegistryError `invalid` or `duplicate`. */
  register(actor: string, input: unknown): Promise<SourceSystem>;
  /** Name and/or mode; throws RegistryError `invalid`, `not_found` or `deactivated`. */
  change(actor: string, id: number, input: unknown): Promise<SourceSystem>;
  /** Throws RegistryError `not_found` or `deactivated` (already). */
  deactivate(actor: string, id: number): Promise<SourceSystem>;
  audit(query?: AuditQuery): Promise<AuditEntry[]>;
}

export interface RegistryOptions {
  /** Runs after each committed change, e.g. the local directory's refresh, so it applies at once. */
  afterChange?: () => Promise<void>;
}

type Row = typeof sourceSystems.$inferSelect;
type Transaction = Parameters<Parameters<Orm['transaction']>[0]>[0];

function toSourceSystem(row: Row): SourceSystem {
  return {
    id: row.id,
    environment: row.environment as Environment,
    hsaId: row.hsaId,
    name: row.name,
    mode: row.mode as SourceSystemMode,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    deactivatedAt: row.deactivatedAt ? row.deactivatedAt.toISOString() : null,
  };
}

// PostgreSQL's unique_violation, as postgres-js and PGlite report it (drizzle wraps it in `cause`).
function isLiveDuplicate(error: unknown): boolean {
  for (
    let current = error;
    typeof current === 'object' && current !== null;
    current = (current as { cause?: unknown }).cause
  ) {
    if ((current as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

function checkActor(actor: string): void {
  if (actor.trim() === '') throw new TypeError('Every change needs an actor for the audit log');
}

/** An audit entry for a change made elsewhere (a dead letter retried, a trace by personal identity number). */
export async function recordAudit(
  orm: Pick<Orm, 'insert'>,
  entry: { actor: string; action: string; entity: string; entityId: string; before?: unknown; after?: unknown },
): Promise<void> {
  checkActor(entry.actor);
  await orm.insert(auditLog).values({ ...entry, before: entry.before ?? null, after: entry.after ?? null });
}

export function createSourceSystemRegistry(database: Database, options: RegistryOptions = {}): SourceSystemRegistry {
  const { orm } = database;

  async function announce(tx: Transaction, system: SourceSystem): Promise<void> {
    // Delivered on commit to every process LISTENing on the same database (directory.ts reloads).
    const payload = JSON.stringify({ id: system.id, environment: system.environment });
    await tx.execute(sql`select pg_notify(${SOURCE_SYSTEM_CHANNEL}, ${payload})`);
  }

  async function audit(
    tx: Transaction,
    actor: string,
    action: string,
    before: SourceSystem | null,
    after: SourceSystem,
  ): Promise<void> {
    await tx
      .insert(auditLog)
      .values({ actor, action, entity: AUDIT_ENTITY, entityId: String(after.id), before, after });
  }

  async function afterChange(): Promise<void> {
    // The change is committed; if this reload fails, NOTIFY and the directory's backstop reload still follow.
    await options.afterChange?.().catch(() => {});
  }

  async function lockLive(tx: Transaction, id: number): Promise<Row> {
    const [row] = await tx.select().from(sourceSystems).where(eq(sourceSystems.id, id)).for('update');
    if (!row) throw new RegistryError('not_found', `No source system with id ${id}`);
    if (row.deactivatedAt) {
      throw new RegistryError(
        'deactivated',
        `Source system ${id} (${row.hsaId}, ${row.environment}) was deactivated ` +
          `${row.deactivatedAt.toISOString()}; register it again to use it`,
      );
    }
    return row;
  }

  return {
    async list(filter = {}) {
      const conditions: SQL[] = [];
      if (filter.environment) conditions.push(eq(sourceSystems.environment, filter.environment));
      if (!filter.includeDeactivated) conditions.push(isNull(sourceSystems.deactivatedAt));
      const found = await orm
        .select()
        .from(sourceSystems)
        .where(and(...conditions))
        .orderBy(sourceSystems.environment, sourceSystems.hsaId, sourceSystems.id);
      return found.map(toSourceSystem);
    },

    async find(id) {
      if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) return undefined;
      const [row] = await orm.select().from(sourceSystems).where(eq(sourceSystems.id, id));
      return row ? toSourceSystem(row) : undefined;
    },

    async findLive(environment, hsaId) {
      const [row] = await orm
        .select()
        .from(sourceSystems)
        .where(
          and(
            eq(sourceSystems.environment, environment),
            eq(sourceSystems.hsaId, hsaId.toUpperCase()),
            isNull(sourceSystems.deactivatedAt),
          ),
        );
      return row ? toSourceSystem(row) : undefined;
    },

    async register(actor, input) {
      checkActor(actor);
      const checked = checkRegistration(input);
      if (!checked.ok) throw new RegistryError('invalid', describeProblems(checked.problems), checked.problems);
      const registration = checked.value;
      const duplicate = () =>
        new RegistryError(
          'duplicate',
          `${registration.hsaId} is already registered in ${registration.environment}; change or ` +
            `deactivate that registration`,
        );
      let created: SourceSystem;
      try {
        created = await orm.transaction(async (tx) => {
          const [row] = await tx.insert(sourceSystems).values(registration).returning();
          const system = toSourceSystem(row!);
          await audit(tx, actor, AUDIT_ACTIONS.register, null, system);
          await announce(tx, system);
          return system;
        });
      } catch (error) {
        // The partial unique index allows one live registration per HSA-id and environment.
        if (isLiveDuplicate(error)) throw duplicate();
        throw error;
      }
      await afterChange();
      return created;
    },

    async change(actor, id, input) {
      checkActor(actor);
      const checked = checkChange(input);
      if (!checked.ok) throw new RegistryError('invalid', describeProblems(checked.problems), checked.problems);
      const { name, mode } = checked.value;
      let changed = false;
      const result = await orm.transaction(async (tx) => {
        const before = toSourceSystem(await lockLive(tx, id));
        if ((name === undefined || name === before.name) && (mode === undefined || mode === before.mode)) return before;
        const [row] = await tx
          .update(sourceSystems)
          .set({ ...(name !== undefined && { name }), ...(mode !== undefined && { mode }), updatedAt: sql`now()` })
          .where(eq(sourceSystems.id, id))
          .returning();
        const after = toSourceSystem(row!);
        await audit(tx, actor, AUDIT_ACTIONS.change, before, after);
        await announce(tx, after);
        changed = true;
        return after;
      });
      if (changed) await afterChange();
      return result;
    },

    async deactivate(actor, id) {
      checkActor(actor);
      const result = await orm.transaction(async (tx) => {
        const before = toSourceSystem(await lockLive(tx, id));
        const [row] = await tx
          .update(sourceSystems)
          .set({ deactivatedAt: sql`now()`, updatedAt: sql`now()` })
          .where(eq(sourceSystems.id, id))
          .returning();
        const after = toSourceSystem(row!);
        await audit(tx, actor, AUDIT_ACTIONS.deactivate, before, after);
        await announce(tx, after);
        return after;
      });
      await afterChange();
      return result;
    },

    async audit(query = {}) {
      const limit = Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), MAX_AUDIT_PAGE);
      const conditions: SQL[] = [];
      if (query.before !== undefined) conditions.push(lt(auditLog.id, query.before));
      if (query.entity !== undefined) conditions.push(eq(auditLog.entity, query.entity));
      if (query.sourceSystemId !== undefined) {
        conditions.push(eq(auditLog.entity, AUDIT_ENTITY), eq(auditLog.entityId, String(query.sourceSystemId)));
      }
      const found = await orm
        .select()
        .from(auditLog)
        .where(and(...conditions))
        .orderBy(desc(auditLog.id))
        .limit(limit);
      return found.map((row) => ({
        id: row.id,
        at: row.at.toISOString(),
        actor: row.actor,
        action: row.action,
        entity: row.entity,
        entityId: row.entityId,
        before: row.before,
        after: row.after,
      }));
    },
  };
}
