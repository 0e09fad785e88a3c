// A worker on a PostgreSQL server without autovacuum says so once at start (the queue's partial indexes and
// the planner's statistics depend on it; docs/OPERATIONS.md); on a server with it, and on the embedded
// database, it says nothing. Runs on PGlite in `npm test` and on the real server in `npm run test:postgres`.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ ROLES: 'worker' });
});
afterAll(async () => {
  await t?.close();
});

it('When a worker starts, then it warns once exactly when its PostgreSQL server runs without autovacuum', async () => {
  const warnings = t.logs.filter((line) => String(line.msg).startsWith('PostgreSQL runs with autovacuum off'));
  if (t.database.kind === 'embedded') {
    expect(warnings).toHaveLength(0);
    return;
  }
  const [setting] = await rows<{ autovacuum: string }>(t.database.orm, sql`show autovacuum`);
  expect(warnings).toHaveLength(setting!.autovacuum === 'off' ? 1 : 0);
  expect(warnings.every((line) => line.level === 40)).toBe(true); // pino's warn
});
