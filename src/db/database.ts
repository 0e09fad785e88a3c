// One typed database handle over either PostgreSQL (DATABASE_URL, driver `postgres`) or the embedded
// PGlite under DATA_DIR. Migrations from drizzle/ are applied when the handle is opened.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { lockEmbeddedDatabase } from './embedded-lock.js';
import * as schema from './schema.js';

export type Schema = typeof schema;
export type Orm = PgDatabase<PgQueryResultHKT, Schema>;

/**
 * What a component's statements run on: the database itself (`database.orm`) or the caller's transaction
 * (`orm.transaction(async (tx) => ...)`), raw (`execute`) or with the query builder on the component's
 * tables, so a one-row statement inside the caller's transaction needs no second connection.
 */
export type Executor = Pick<Orm, 'execute' | 'select' | 'insert' | 'update' | 'delete'>;

/** Enough to run a raw statement (rows(), the purge): an Executor, or a wrapper of its `execute`. */
export interface RawExecutor {
  execute(query: SQL): PromiseLike<unknown>;
}

export interface Database {
  readonly kind: 'embedded' | 'postgres';
  readonly orm: Orm;
  /** Runs `callback` for every NOTIFY on `channel` (from any process of the same database). */
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');
/**
 * An embedded database with every migration applied, as a PGlite data-folder archive, written next to
 * the compiled module by `npm run build` (scripts/embedded-template.mjs). A fresh DATA_DIR starts from it
 * instead of PGlite's own initdb, which takes 5-10 s of a 2-core machine. Absent when running the
 * TypeScript sources: then PGlite initialises the folder itself.
 */
export const EMBEDDED_TEMPLATE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'embedded-template.tar.gz');

/** Rows of a raw query, whichever driver ran it (postgres-js answers an array, PGlite `{ rows }`). */
export async function rows<T>(executor: RawExecutor, query: SQL): Promise<T[]> {
  const result = await executor.execute(query);
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

// What drizzle keeps on a database or transaction object (not in its typings): the dialect that renders
// a query and the session that runs it.
interface DrizzleInternals {
  dialect?: { sqlToQuery(query: SQL): unknown };
  session?: {
    prepareQuery(query: unknown, fields: undefined, name: string, arrayMode: boolean): { execute(): Promise<unknown> };
  };
}

/**
 * Like rows(), as a named prepared statement (PostgreSQL plans it once per connection instead of at every
 * call; drizzle's execute() never prepares). For hot statements whose text does not change between calls:
 * `name` must be the same for the same text.
 */
export async function preparedRows<T>(executor: RawExecutor, name: string, query: SQL): Promise<T[]> {
  const { dialect, session } = executor as unknown as DrizzleInternals;
  if (!dialect || !session) return rows<T>(executor, query);
  const result = await session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false).execute();
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files; undefined: in memory (tests). */
  dataDir?: string | undefined;
  /** Connections in the pool (PostgreSQL only). */
  maxConnections?: number;
  migrate?: boolean;
  /** The archive a fresh embedded database (folder or in memory) starts from, when it exists (default
   * EMBEDDED_TEMPLATE). */
  embeddedTemplate?: string;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  const database = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options.maxConnections ?? 10)
    : await openEmbedded(options.dataDir, options.embeddedTemplate ?? EMBEDDED_TEMPLATE);
  if (options.migrate !== false) await database.migrate();
  return database;
}

async function openPostgres(url: string, max: number): Promise<Database & { migrate(): Promise<void> }> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  const client = postgres(url, {
    max,
    onnotice: () => {},
    // Fail fast when the server is away, so the caller can answer soap:Server instead of hanging.
    connect_timeout: 5,
    connection: { application_name: 'ei-inbox' },
  });
  const orm = drizzle(client, { schema }) as unknown as Orm;
  return {
    kind: 'postgres',
    orm,
    async migrate() {
      await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async listen(channel, callback) {
      const subscription = await client.listen(channel, callback);
      return () => subscription.unlisten();
    },
    async ping() {
      await client`select 1`;
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

async function openEmbedded(
  dataDir: string | undefined,
  template: string,
): Promise<Database & { migrate(): Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  let client;
  let unlock = () => {};
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    unlock = lockEmbeddedDatabase(dataDir);
    // PG_VERSION is the first thing initdb writes: without it the folder is new.
    const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
    const loadDataDir = fresh && fs.existsSync(template) ? new Blob([fs.readFileSync(template)]) : undefined;
    client = new PGlite(dataDir, loadDataDir ? { loadDataDir } : {});
  } else {
    // In memory (tests): the template too, when it exists (a test run writes one once: test/helpers).
    const loadDataDir = fs.existsSync(template) ? new Blob([fs.readFileSync(template)]) : undefined;
    client = new PGlite(loadDataDir ? { loadDataDir } : {});
  }
  try {
    await client.waitReady;
  } catch (error) {
    unlock();
    throw error;
  }
  const orm = drizzle(client, { schema }) as unknown as Orm;
  return {
    kind: 'embedded',
    orm,
    async migrate() {
      await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async listen(channel, callback) {
      return client.listen(channel, callback);
    },
    async ping() {
      await client.query('select 1');
    },
    async close() {
      await client.close();
      unlock();
    },
  };
}

/** Writes EMBEDDED_TEMPLATE's content to `file`: a new in-memory database, migrated, archived (gzip). */
export async function writeEmbeddedTemplate(file: string): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const client = new PGlite();
  try {
    await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    const archive = await client.dumpDataDir('gzip');
    fs.writeFileSync(file, Buffer.from(await archive.arrayBuffer()));
  } finally {
    await client.close();
  }
}
