// The production start command's V8 heap cap (package.json `start`, docs/OPERATIONS.md "Memory"): below
// 2 GB, so that V8 collects the old generation at 1.6x its live size instead of 4x (what made the reload
// bench peak at 360 MiB), and far above what the largest call EI may send needs, on the main thread and on
// an ingest thread (a cap too low would crash the service on a legal call).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startCommand } from '../../scripts/start-command.js';
import { heapLimitWarning } from '../../src/operations/index.js';

/** V8 picks its largest heap-growing factor (4) for an old generation limit of 2048 MB or more (64-bit). */
const V8_HIGH_GROWTH_FROM_MB = 2048;

describe('the production start command', () => {
  const start = startCommand();
  const cap = start.nodeFlags.map((flag) => /^--max-old-space-size=(\d+)$/.exec(flag)?.[1]).find(Boolean);

  it('When the service is started with npm start, then node runs dist/main.js with an old-space cap under 2 GB', () => {
    expect(start.args.at(-1)).toBe('dist/main.js');
    expect(cap).toBeDefined();
    expect(Number(cap)).toBeLessThan(V8_HIGH_GROWTH_FROM_MB);
  });

  it('When the largest call EI may send is read under that cap, then every transaction is prepared, on the main thread and on an ingest thread, with the cap at least 8 times the heap it holds', async () => {
    // Rejects (the test fails) if the child runs out of heap or fails otherwise.
    const child = await promisify(execFile)(
      process.execPath,
      [...start.nodeFlags, '--import', 'tsx', 'test/helpers/largest-call.ts'],
      { encoding: 'utf8', maxBuffer: 1024 * 1024 },
    );
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
      bytes: number;
      threaded: number;
      inline: number;
      heapLimitMb: number;
      heldMb: number;
    };
    console.log(`largest call: ${JSON.stringify(result)}`);
    expect(result.bytes).toBeGreaterThan(15_000_000);
    expect(result.threaded).toBeGreaterThan(20_000);
    expect(result.inline).toBe(result.threaded);
    // The flag took effect (the limit also counts the young generation).
    expect(result.heapLimitMb).toBeGreaterThanOrEqual(Number(cap));
    expect(result.heapLimitMb).toBeLessThan(Number(cap) + 256);
    expect(result.heldMb * 8).toBeLessThan(Number(cap));
    // And the service does not warn about its heap when started so.
    expect(heapLimitWarning(result.heapLimitMb * 1024 * 1024)).toBeUndefined();
    // A bound on waiting, no speed check: about 5 s of CPU, several times that on a loaded machine.
  }, 300_000);

  it.each([
    ['npm start (1 GB cap and 8 MB young generation)', 1036, false],
    ['a cap of 2047 MB', 2047 + 48, true],
    ['no flags on a 24 GB machine', 4144, true],
    ['no flags in a 2 GB container', 1072, false],
  ])('When the service starts with a V8 heap limit of %s, then it warns: %s', (_name, limitMb, warns) => {
    const warning = heapLimitWarning(Number(limitMb) * 1024 * 1024);
    expect(warning !== undefined).toBe(warns);
    if (warning) expect(warning).toMatch(/--max-old-space-size=1024/);
  });
});
