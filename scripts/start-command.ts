// The production start command (package.json's `start` script) split into its parts, for the benches and
// tests that start the service as `npm start` does but need the node process itself (its pid, its
// memory), not npm's. The script must read `node [--node-flags] dist/main.js`.
import fs from 'node:fs';

export interface StartCommand {
  /** The script as written. */
  command: string;
  /** The node flags alone (e.g. the heap cap, docs/OPERATIONS.md "Memory"). */
  nodeFlags: string[];
  /** What follows `node`: the flags, then dist/main.js. */
  args: string[];
}

export function startCommand(): StartCommand {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts?: { start?: string };
  };
  const command = pkg.scripts?.start ?? '';
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js' || words.slice(1, -1).some((w) => !w.startsWith('--')))
    throw new Error(`package.json's start script is not "node [--flags] dist/main.js": ${command}`);
  return { command, nodeFlags: words.slice(1, -1), args: words.slice(1) };
}
