// A database of its own for each test file: a fresh in-memory PGlite (started from the migrated template
// the `main` project's global setup writes once), or, with DATABASE_URL, a fresh PostgreSQL database
// created next to the given one (and dropped afterwards).
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { sql } from 'drizzle-orm';
import { openDatabase, rows, type Database } from '../../src/db/database.js';

export interface TestDatabase extends Database {
  /** The URL of this test's own PostgreSQL database; undefined on the embedded one. */
  readonly url: string | undefined;
}

/** `serverUrl`: the PostgreSQL server to create the database on (default DATABASE_URL; none: PGlite). */
export async function openTestDatabase(serverUrl = process.env.DATABASE_URL): Promise<TestDatabase> {
  if (!serverUrl) {
    const template = inject('embeddedTemplate');
    const database = await openDatabase(template ? { embeddedTemplate: template } : {});
    return Object.assign(database, { url: undefined });
  }
  const name = `ei_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString() });
  const close = database.close.bind(database);
  return Object.assign(database, {
    url: url.toString(),
    async close() {
      await close();
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  });
}

/** The citizen's held cancellations whose window has ended but which the release sweep has not yet sent. */
export async function dueHeldCancellations(database: Database, resident: string): Promise<number> {
  const [row] = await rows<{ n: number }>(
    database.orm,
    sql`select count(*)::int as n from held_cancellation
        where resident = ${resident} and status = 'held' and due_at <= now()`,
  );
  return Number(row!.n);
}
