// Lines of at most 120 characters (the developers' guide), checked by `npm run lint`: prettier wraps code,
// but not the text inside strings and templates (SQL, HTML, CSS), which is wrapped by hand. A line that holds
// only a regular-expression literal is let through: split into strings it would hide from the regular-expression
// safety scan (test/security/regex-redos.test.ts), which reads literals.
// Usage: node scripts/check-line-length.mjs [folder...] (default: src scripts). Exit 1 with one line per breach.
import fs from 'node:fs';
import path from 'node:path';

const MAX = 120;
// `  /.../g;` alone on its line (cut to a bounded length first; the pattern is linear).
const regexOnly = (line) => /^\s*\/\S.*\/[dgimsuvy]*[;,]?$/.test(line.slice(0, 1000));
const folders = process.argv.length > 2 ? process.argv.slice(2) : ['src', 'scripts'];
const files = folders.flatMap((folder) =>
  fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ts|mjs)$/.test(name))
    .map((name) => path.join(folder, name))
    .filter((file) => fs.statSync(file).isFile()),
);
const breaches = files.flatMap((file) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    // Characters as an editor counts them (code points), not UTF-16 units.
    .flatMap((line, index) =>
      [...line].length > MAX && !regexOnly(line) ? [`${file}:${index + 1}: ${[...line].length} characters`] : [],
    ),
);
for (const breach of breaches) console.error(breach);
if (breaches.length > 0) {
  console.error(`line length: ${breaches.length} line(s) longer than ${MAX} characters`);
  process.exit(1);
}
console.log(`line length: ok (${files.length} files, at most ${MAX} characters)`);
