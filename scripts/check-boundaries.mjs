// The component boundaries, checked by `npm run lint` (docs/ARCHITECTURE.md, "Components: who owns what").
// Each folder under src/ is a component. Two rules:
//   1. imports: code outside a component reaches it only through its index.ts. Two narrow exceptions, both
//      to keep module loading free of cycles: a schema.ts (and src/db/schema.ts, which gathers them for
//      drizzle-kit) may import another component's schema.ts (an enumeration for a CHECK constraint), and
//      the shared files listed in LEAF_IMPORTS may import the one dependency-free module they name (an
//      index would load the whole component, which imports those shared files back before they are done);
//   2. SQL writes: `insert into` / `update` / `delete from` a table (and a purge slice's `table: '...'`) only
//      in the component that owns the table. The owner is the component whose schema.ts declares the table
//      with pgTable('<name>'): the declarations are the table→owner map.
// Usage: node scripts/check-boundaries.mjs [--root DIR] [--map]. Exit 1 with one line per breach.
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const rootArg = args.includes('--root') ? args[args.indexOf('--root') + 1] : '.';
const src = path.resolve(rootArg, 'src');

/** Every .ts file under `dir`, as absolute paths. */
function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The component a file under src/ belongs to, or undefined for the shared files at src/'s top. */
function componentOf(file) {
  const parts = path.relative(src, file).split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

/** Comments out (line and block), so that prose about a table is no write into it. Strings are kept. */
function withoutComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1');
}

const files = walk(src);

// The table→owner map, from the schema declarations.
const owners = new Map();
for (const file of files.filter((f) => path.basename(f) === 'schema.ts')) {
  const owner = componentOf(file);
  if (!owner || owner === 'db') continue;
  for (const match of fs.readFileSync(file, 'utf8').matchAll(/pgTable\(\s*'([a-z_][a-z0-9_]*)'/g))
    owners.set(match[1], owner);
}
if (args.includes('--map')) {
  for (const [table, owner] of [...owners].sort()) console.log(`${table}\t${owner}`);
  process.exit(0);
}

/** Shared top-level files that every component imports, and the dependency-free module each may reach directly. */
const LEAF_IMPORTS = new Map([
  [
    path.join('src', 'config.ts'),
    [path.join('inbox', 'booking-service.ts'), path.join('activation-registry', 'schema.ts')],
  ],
]);

const breaches = [];
const lineOf = (text, index) => text.slice(0, index).split('\n').length;
for (const file of files) {
  const rel = path.relative(path.resolve(rootArg), file);
  const own = componentOf(file);
  const raw = fs.readFileSync(file, 'utf8');
  const text = withoutComments(raw);
  // 1. imports (static, re-exports and dynamic)
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g)) {
    const target = path.resolve(path.dirname(file), match[1]).replace(/\.js$/, '.ts');
    if (!target.startsWith(src + path.sep)) continue;
    const other = componentOf(target);
    if (other === undefined || other === own) continue;
    const inside = path.relative(path.join(src, other), target);
    if (inside === 'index.ts') continue;
    if (inside === 'schema.ts' && path.basename(file) === 'schema.ts') continue;
    if ((LEAF_IMPORTS.get(rel) ?? []).includes(path.join(other, inside))) continue;
    breaches.push(
      `${rel}:${lineOf(text, match.index)}: deep import of ${other}/${inside.replace(/\.ts$/, '.js')} ` +
        `(import ${other}/index.js)`,
    );
  }
  // 2. SQL writes into another component's tables (src/db's generic helpers name no table)
  if (own === undefined || own === 'db') continue;
  const writes = /\b(insert\s+into|update|delete\s+from)\s+([a-z_][a-z0-9_]*)\b|\btable:\s*'([a-z_][a-z0-9_]*)'/gi;
  for (const match of text.matchAll(writes)) {
    const table = (match[2] ?? match[3]).toLowerCase();
    const owner = owners.get(table);
    if (owner === undefined || owner === own) continue;
    const verb = match[1] ? match[1].toLowerCase().replace(/\s+/g, ' ') : 'purge';
    breaches.push(
      `${rel}:${lineOf(text, match.index)}: ${verb} ${table}, a table of ${owner} (call ${owner}/index.js)`,
    );
  }
}

if (breaches.length > 0) {
  console.error(`component boundaries: ${breaches.length} breach(es)`);
  for (const line of breaches) console.error(`  ${line}`);
  process.exit(1);
}
console.log(`component boundaries: ok (${files.length} files, ${owners.size} tables)`);
