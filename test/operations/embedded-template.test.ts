// The production build's head start for a fresh DATA_DIR: an archive of a migrated embedded database
// (written by `npm run build`, here by the same function into a temporary file). A fresh folder starts
// from it, fully migrated; a folder that already holds a database is never overwritten by it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, openDatabase, rows, writeEmbeddedTemplate } from '../../src/db/database.js';

let folder: string;
let template: string;
const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as {
  entries: unknown[];
};

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ei-inbox-template-'));
  template = path.join(folder, 'embedded-template.tar.gz');
  await writeEmbeddedTemplate(template);
}, 120_000);
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

async function migrationsApplied(dataDir: string): Promise<number> {
  const database = await openDatabase({ dataDir, embeddedTemplate: template, migrate: false });
  try {
    const [row] = await rows<{ n: number }>(
      database.orm,
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    return row!.n;
  } finally {
    await database.close();
  }
}

describe('the embedded template', () => {
  it('When a fresh data folder is opened with the template, then it holds every migration before any is run', async () => {
    const dataDir = path.join(folder, 'fresh');
    expect(await migrationsApplied(dataDir)).toBe(journal.entries.length);
    // And it is an ordinary database from then on: migrations find nothing to do, writes stay.
    const database = await openDatabase({ dataDir, embeddedTemplate: template });
    await database.orm.execute(
      sql`insert into source_system (environment, hsa_id, name) values ('qa', 'SE-TEMPLATE-1', 'Kept')`,
    );
    await database.close();
    const reopened = await openDatabase({ dataDir, embeddedTemplate: template });
    expect(await rows(reopened.orm, sql`select hsa_id from source_system`)).toEqual([{ hsa_id: 'SE-TEMPLATE-1' }]);
    await reopened.close();
  }, 120_000);

  it('When a data folder already holds a database, then the template is not loaded over it', async () => {
    const dataDir = path.join(folder, 'existing');
    const first = await openDatabase({ dataDir, embeddedTemplate: path.join(folder, 'no-such-template.tar.gz') });
    await first.orm.execute(
      sql`insert into source_system (environment, hsa_id, name) values ('qa', 'SE-EXISTING-1', 'Mine')`,
    );
    await first.close();
    const again = await openDatabase({ dataDir, embeddedTemplate: template });
    expect(await rows(again.orm, sql`select hsa_id from source_system`)).toEqual([{ hsa_id: 'SE-EXISTING-1' }]);
    await again.close();
  }, 120_000);
});
