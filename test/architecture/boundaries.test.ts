// The component boundaries `npm run lint` checks (scripts/check-boundaries.mjs): the real src/ passes, and a
// copy of it with one planted breach fails, naming the file and the breach. The breaches are planted in a
// temporary copy, never in src/.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(repo, 'scripts/check-boundaries.mjs');

async function check(root: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, '--root', root]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('component boundaries (npm run lint)', () => {
  let copy: string;
  beforeAll(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'boundaries-'));
  });
  afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

  /** A fresh copy of src/ with `edit` applied to one file. */
  function plant(file: string, edit: (text: string) => string): string {
    const root = fs.mkdtempSync(path.join(copy, 'case-'));
    fs.cpSync(path.join(repo, 'src'), path.join(root, 'src'), { recursive: true });
    const target = path.join(root, 'src', file);
    fs.writeFileSync(target, edit(fs.readFileSync(target, 'utf8')));
    return root;
  }

  it('When src/ is checked as it is, then it passes', async () => {
    const result = await check(repo);
    expect(result.output).toMatch(/component boundaries: ok/);
    expect(result.code).toBe(0);
  });

  it('When the check runs as part of npm run lint, then package.json says so', () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).scripts as Record<
      string,
      string
    >;
    expect(scripts.lint).toContain('scripts/check-boundaries.mjs');
  });

  it('When a component imports another component past its index.ts, then the check fails and names the import', async () => {
    // The inbox page reaching into channels' settings.ts, as it once did.
    const root = plant(
      'inbox/pages/inbox-page.ts',
      (text) => `import { readCitizenSettings as planted } from '../../channels/settings.js';\nvoid planted;\n${text}`,
    );
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/src\/inbox\/pages\/inbox-page\.ts:1: deep import of channels\/settings\.js/);
  });

  it('When a re-export or a dynamic import goes past index.ts, then the check fails too', async () => {
    const root = plant('app.ts', (text) => `${text}\nexport const planted = () => import('./queue/in-database.js');\n`);
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/src\/app\.ts:\d+: deep import of queue\/in-database\.js/);
  });

  it("When a component writes into another component's table, then the check fails and names the table and its owner", async () => {
    // The engine inserting channels' notification_request itself, as it once did.
    const root = plant(
      'message-engine/effects.ts',
      (text) =>
        `${text}\nexport const planted = (tx: Executor) => tx.execute(sql\`insert into notification_request (resident, message_id) values ('x', 1)\`);\n`,
    );
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(
      /src\/message-engine\/effects\.ts:\d+: insert into notification_request, a table of channels/,
    );
  });

  it("When an update, a delete or a purge slice names another component's table, then the check fails", async () => {
    const root = plant(
      'operations/metrics.ts',
      (text) =>
        `${text}\nexport const planted = [\`update inbound_notification set status = 'done'\`, \`delete from audit_log\`, { table: 'inbox_message' }];\n`,
    );
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/update inbound_notification, a table of queue/);
    expect(result.output).toMatch(/delete from audit_log, a table of activation-registry/);
    expect(result.output).toMatch(/purge inbox_message, a table of inbox/);
  });

  it('When a table is only named in a comment, then it is no write', async () => {
    const root = plant(
      'operations/metrics.ts',
      (text) => `${text}\n// the engine used to insert into notification_request here\n`,
    );
    const result = await check(root);
    expect(result.code).toBe(0);
  });
});
