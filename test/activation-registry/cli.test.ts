// `npm run admin` as a real child process (src/cli/admin.ts run by Node with tsx's loader: what `npm run admin`
// runs, without the npx and tsx launcher processes) on the test's own database: DATABASE_URL of the test's
// PostgreSQL database, or on PGlite a temporary DATA_DIR.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rows, type Database } from '../../src/db/database.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const ACTOR = `cli:${os.userInfo().username}`;
const ADMIN = ['--import', 'tsx', 'src/cli/admin.ts'];
// Each run starts tsx and opens the database (on PGlite: a fresh one is created first): slow on a busy machine.
const SLOW = 180_000;

let t: TestApp | undefined;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-cli-'));
  // On PostgreSQL a running app shares the CLI's database and must follow its changes.
  if (process.env.DATABASE_URL) t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function admin(...args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, APP_ENVIRONMENT: 'qa' };
  if (t?.database.url) env.DATABASE_URL = t.database.url;
  else delete env.DATABASE_URL;
  try {
    const { stdout, stderr } = await run(process.execPath, [...ADMIN, ...args], {
      cwd: ROOT,
      env,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The CLI's database, opened by the test (on PGlite only while no CLI runs: one process at a time). */
async function withDatabase<T>(use: (database: Database) => Promise<T>): Promise<T> {
  if (t) return use(t.database);
  const database = await openDatabase({ dataDir: `${dataDir}/pglite` });
  try {
    return await use(database);
  } finally {
    await database.close();
  }
}

describe('npm run admin -- source-systems', () => {
  it(
    'When a system is added, then it is stored with an audit entry by cli:<user>, and a running app of the same database applies it',
    async () => {
      const added = await admin(
        'source-systems',
        'add',
        '--environment',
        'qa',
        '--hsa-id',
        'SE2321000016-CLI1',
        '--name',
        'Kommandorad',
        '--mode',
        'silent',
      );
      expect(added, added.stderr).toMatchObject({ code: 0 });
      expect(added.stdout).toMatch(/^Registered SE2321000016-CLI1 in qa \(id \d+, silent\): Kommandorad/);
      const [stored, audit] = await withDatabase(async (database) => [
        await rows<{ mode: string; deactivated_at: Date | null }>(
          database.orm,
          sql`select mode, deactivated_at from source_system where hsa_id = 'SE2321000016-CLI1'`,
        ),
        await rows<{ actor: string; action: string }>(
          database.orm,
          sql`select actor, action from audit_log order by id`,
        ),
      ]);
      expect(stored).toEqual([{ mode: 'silent', deactivated_at: null }]);
      expect(audit).toEqual([{ actor: ACTOR, action: 'source_system.register' }]);
      if (t) await expect.poll(() => t!.app.directory.modeOf('SE2321000016-CLI1'), { timeout: 5_000 }).toBe('silent');
    },
    SLOW,
  );

  it(
    'When the same HSA-id is added again, then exit code 4 with the reason, and nothing more is stored',
    async () => {
      const again = await admin(
        'source-systems',
        'add',
        '--environment',
        'qa',
        '--hsa-id',
        'SE2321000016-CLI1',
        '--name',
        'Igen',
      );
      expect(again.code).toBe(4);
      expect(again.stderr).toContain('SE2321000016-CLI1 is already registered in qa');
      const count = await withDatabase(async (database) =>
        rows<{ n: number }>(database.orm, sql`select count(*)::int as n from source_system`),
      );
      expect(Number(count[0]!.n)).toBe(1);
    },
    SLOW,
  );

  it(
    'When arguments are wrong, then exit code 2 with the usage, before any database is touched',
    async () => {
      // At the same time, while the test holds the embedded database: none of them may need it.
      const [environment, hsaId, command] = await withDatabase(() =>
        Promise.all([
          admin('source-systems', 'add', '--environment', 'test', '--hsa-id', 'SE2321000016-CLI2', '--name', 'X'),
          admin('source-systems', 'add', '--environment', 'qa', '--hsa-id', ' SE2321000016-CLI2', '--name', 'X'),
          admin('source-systems', 'launch'),
        ]),
      );
      expect(environment.code).toBe(2);
      expect(environment.stderr).toContain('environment must be "qa" or "prod", got "test"');
      expect(hsaId.code).toBe(2);
      expect(hsaId.stderr).toContain('hsaId must not start or end with white space');
      expect(command.code).toBe(2);
      expect(command.stderr).toContain('unknown command "source-systems launch"');
      expect(command.stderr).toContain('Usage: npm run admin');
    },
    SLOW,
  );

  it(
    'When the mode is changed, the list asked for, and the system removed twice, then silent → active, listed, deactivated, then exit 4',
    async () => {
      const changed = await admin(
        'source-systems',
        'change',
        '--environment',
        'qa',
        '--hsa-id',
        'SE2321000016-CLI1',
        '--mode',
        'active',
      );
      expect(changed, changed.stderr).toMatchObject({ code: 0 });
      const listed = await admin('source-systems', 'list', '--environment', 'qa', '--json');
      const systems = JSON.parse(listed.stdout) as { id: number; hsaId: string; mode: string }[];
      expect(systems).toEqual([expect.objectContaining({ hsaId: 'SE2321000016-CLI1', mode: 'active' })]);
      const removed = await admin('source-systems', 'remove', '--id', String(systems[0]!.id));
      expect(removed.code).toBe(0);
      expect(removed.stdout).toContain('Deactivated SE2321000016-CLI1 in qa');
      if (t) await expect.poll(() => t!.app.directory.modeOf('SE2321000016-CLI1'), { timeout: 5_000 }).toBeUndefined();
      // One after the other: on PGlite, a second CLI at the same time would be refused (one process at a time).
      const again = await admin('source-systems', 'remove', '--id', String(systems[0]!.id));
      const unknown = await admin('source-systems', 'remove', '--environment', 'qa', '--hsa-id', 'SE2321000016-NEVER');
      expect(again.code).toBe(4);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain('SE2321000016-NEVER is not registered');
      const audit = await withDatabase(async (database) =>
        rows<{ actor: string; action: string }>(database.orm, sql`select actor, action from audit_log order by id`),
      );
      expect(audit.map((entry) => entry.action)).toEqual([
        'source_system.register',
        'source_system.change',
        'source_system.deactivate',
      ]);
      expect(new Set(audit.map((entry) => entry.actor))).toEqual(new Set([ACTOR]));
    },
    SLOW,
  );

  it(
    'When the embedded database is held by another process, then exit code 5 with a message saying so',
    async () => {
      if (t) {
        console.info(
          '[activation-registry] PostgreSQL in use: checking that an unreachable database gives exit code 5 instead of the embedded lock',
        );
        const env = { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' };
        const failed = await run(process.execPath, [...ADMIN, 'source-systems', 'list'], {
          cwd: ROOT,
          env,
        }).catch((e: unknown) => e as Result);
        expect((failed as Result).code).toBe(5);
        expect((failed as Result).stderr).toContain('The database (127.0.0.1:1) is not available');
        return;
      }
      await withDatabase(async () => {
        const held = await admin('source-systems', 'list');
        expect(held.code).toBe(5);
        expect(held.stderr).toContain(`is in use by process ${process.pid} (PGlite serves one process at a time)`);
      });
    },
    SLOW,
  );
});

describe('npm run admin -- care-units', () => {
  it(
    'When an operator sets a loading period, lists it, ends it, and releases a held unit, then each is audited as the CLI user; bad input and unknown units get their exit codes',
    async () => {
      const until = new Date(Date.now() + 2 * 3600_000);
      // "2026-12-01T14:00" style: Swedish local time, as operators write it.
      const local = new Intl.DateTimeFormat('sv-SE', {
        timeZone: 'Europe/Stockholm',
        dateStyle: 'short',
        timeStyle: 'short',
      })
        .format(until)
        .replace(' ', 'T');
      const added = await admin(
        'care-units',
        'load',
        '--environment',
        'qa',
        '--logical-address',
        'SE-CLI-UNIT',
        '--until',
        local,
        '--note',
        'grundladdning',
        '--json',
      );
      expect(added.code, added.stderr).toBe(0);
      const load = JSON.parse(added.stdout) as { id: number; endsAt: string; current: boolean };
      expect(load.current).toBe(true);
      expect(Math.abs(Date.parse(load.endsAt) - until.getTime())).toBeLessThan(60_000);
      if (t) await expect.poll(() => t!.app.directory.isLoading('SE-CLI-UNIT'), { timeout: 5_000 }).toBe(true);

      const listed = await admin('care-units', 'loads');
      expect(listed.stdout).toContain('SE-CLI-UNIT');
      const ended = await admin('care-units', 'end-load', '--id', String(load.id));
      expect(ended.code, ended.stderr).toBe(0);
      expect(ended.stdout).toContain('ended');
      const bad = await admin(
        'care-units',
        'load',
        '--environment',
        'qa',
        '--logical-address',
        'SE-CLI-UNIT',
        '--until',
        'yesterday',
      );
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('until must be a time');

      // A unit the guard holds (as the ingest leaves it), released from the command line.
      await withDatabase(async (database) => {
        await database.orm
          .execute(sql`insert into care_unit_guard (environment, logical_address, first_seen_at, last_seen_at, hold_status, hold_started_at, held_posts)
        values ('qa', 'SE-CLI-HELD', now(), now(), 'holding', now(), 3000)`);
      });
      const units = await admin('care-units', 'list', '--json');
      expect(JSON.parse(units.stdout)).toMatchObject([
        { logicalAddress: 'SE-CLI-HELD', hold: { status: 'holding', notifications: 3000 } },
      ]);
      const released = await admin('care-units', 'release', '--environment', 'qa', '--logical-address', 'SE-CLI-HELD');
      expect(released.code, released.stderr).toBe(0);
      const again = await admin('care-units', 'drop', '--environment', 'qa', '--logical-address', 'SE-CLI-HELD');
      expect(again.code).toBe(4);
      const unknown = await admin('care-units', 'release', '--environment', 'qa', '--logical-address', 'SE-NEVER-SEEN');
      expect(unknown.code).toBe(3);

      const audit = await withDatabase(async (database) =>
        rows<{ actor: string; action: string }>(
          database.orm,
          sql`select actor, action from audit_log where action like 'care_unit%' order by id`,
        ),
      );
      expect(audit.map((entry) => entry.action)).toEqual([
        'care_unit_load.add',
        'care_unit_load.end',
        'care_unit.release',
      ]);
      expect(new Set(audit.map((entry) => entry.actor))).toEqual(new Set([ACTOR]));
    },
    SLOW * 2,
  );
});
