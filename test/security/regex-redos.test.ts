// Every regular expression in src/ runs in linear time: each one (literals and `new RegExp` with a
// constant pattern) is found by parsing the sources and checked with recheck, a maintained ReDoS
// checker (automaton analysis, fuzzing where the automaton cannot model a construct such as a
// lookbehind). A `RegExp` built from a value that is not a constant is refused here outright: its
// pattern could not be checked.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'acorn';
import { transformSync } from 'esbuild';
import { checkSync } from 'recheck';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

interface FoundPattern {
  file: string;
  source: string;
  flags: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

type Node = { type: string; [key: string]: unknown };

function walk(node: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(node)) return node.forEach((item) => walk(item, visit));
  if (typeof node !== 'object' || node === null || typeof (node as Node).type !== 'string') return;
  visit(node as Node);
  for (const value of Object.values(node)) walk(value, visit);
}

function patternsOf(file: string): { found: FoundPattern[]; unchecked: string[] } {
  // esbuild removes the types; the JavaScript left keeps every regular expression as written.
  const { code } = transformSync(fs.readFileSync(file, 'utf8'), { loader: 'ts', format: 'esm', target: 'es2022' });
  const tree = parse(code, { ecmaVersion: 'latest', sourceType: 'module' });
  const found: FoundPattern[] = [];
  const unchecked: string[] = [];
  const name = path.relative(SRC, file);
  walk(tree, (node) => {
    const regex = node.regex as { pattern: string; flags: string } | undefined;
    if (node.type === 'Literal' && regex) found.push({ file: name, source: regex.pattern, flags: regex.flags });
    const callee = node.callee as Node | undefined;
    if (
      (node.type === 'NewExpression' || node.type === 'CallExpression') &&
      callee?.type === 'Identifier' &&
      callee.name === 'RegExp'
    ) {
      const [pattern, flags] = node.arguments as Node[];
      if (
        pattern?.type === 'Literal' &&
        typeof pattern.value === 'string' &&
        (flags === undefined || (flags.type === 'Literal' && typeof flags.value === 'string'))
      ) {
        found.push({ file: name, source: pattern.value, flags: (flags?.value as string | undefined) ?? '' });
      } else {
        unchecked.push(`${name}: RegExp built from a value that is not a constant`);
      }
    }
  });
  return { found, unchecked };
}

describe('Regular expressions in src/', () => {
  const files = sourceFiles(SRC);
  const results = files.map(patternsOf);
  const patterns = results.flatMap((result) => result.found);

  it('When the sources are parsed, then their regular expressions are found (the scan sees them) and none is built from a variable', () => {
    // The log masking's patterns at least; a scan that finds nothing would pass everything below.
    expect(patterns.length).toBeGreaterThan(50);
    expect(patterns.some((p) => p.file === 'logging.ts' && p.source.includes('@'))).toBe(true);
    expect(results.flatMap((result) => result.unchecked)).toEqual([]);
  });

  it(
    'When recheck analyses each one, then none can backtrack catastrophically (exponential or polynomial)',
    { timeout: 600_000 },
    () => {
      const vulnerable: string[] = [];
      const unknown: string[] = [];
      // One check per distinct pattern: the same pattern in two files is the same risk.
      const distinct = new Map<string, FoundPattern>();
      for (const pattern of patterns) distinct.set(`/${pattern.source}/${pattern.flags}`, pattern);
      for (const [text, pattern] of distinct) {
        const diagnostics = checkSync(pattern.source, pattern.flags, { timeout: 20_000 });
        const where = `${pattern.file} ${text}`;
        if (diagnostics.status === 'vulnerable') {
          vulnerable.push(
            `${where}: ${diagnostics.complexity.summary}, attack ${JSON.stringify(diagnostics.attack.pattern)}`,
          );
        } else if (diagnostics.status === 'unknown') {
          unknown.push(`${where}: ${diagnostics.error.kind}`);
        }
      }
      expect(vulnerable).toEqual([]);
      expect(unknown).toEqual([]);
    },
  );
});
