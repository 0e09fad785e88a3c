// The files `npm run test:postgres` leaves out (test/database-free.ts) really never touch a database: each
// exists, and neither it nor a test helper it imports (followed through other helpers) opens a database,
// reads DATABASE_URL, or starts the app, the service or the CLI. A file that starts to would run on PGlite
// only: this test then names it, to be taken off the list.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DATABASE_FREE_TEST_FILES } from '../database-free.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OPENS_A_DATABASE = /openTestDatabase|startTestApp|openDatabase|DATABASE_URL|src\/(db|cli)\/|src\/(app|main)\.js/;

/** A module's code without its comments (a comment may name what the code does not do). */
const codeOf = (file: string) => fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');

/** The file and every test-folder module it imports, transitively (src/ modules are checked by name). */
function testModulesOf(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = fs.readFileSync(file, 'utf8');
  for (const [, specifier] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    const target = path.resolve(path.dirname(file), specifier!.replace(/\.js$/, '.ts'));
    if (target.startsWith(path.join(repo, 'test') + path.sep) && fs.existsSync(target)) testModulesOf(target, seen);
  }
  return seen;
}

describe('test files that run on PGlite only (test/database-free.ts)', () => {
  it.each(DATABASE_FREE_TEST_FILES)('%s: When it and its test helpers are read, then none opens a database', (file) => {
    const found = [...testModulesOf(path.join(repo, file))]
      .filter((module) => !module.endsWith('database-free.test.ts'))
      .map((module) => [path.relative(repo, module), OPENS_A_DATABASE.exec(codeOf(module))?.[0]])
      .filter(([, match]) => match);
    expect(found).toEqual([]);
  });

  it('When a file that opens a database is checked the same way, then it is found (the check can fail)', () => {
    const found = [...testModulesOf(path.join(repo, 'test/queue/dead-letters.test.ts'))].filter((module) =>
      OPENS_A_DATABASE.test(codeOf(module)),
    );
    expect(found.length).toBeGreaterThan(0);
  });
});
