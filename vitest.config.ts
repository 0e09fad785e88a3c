// `npm test`: two projects. `main` is every test file, several files at a time (MAIN_WORKERS), each with
// its own database (a fresh PGlite started from the migrated template the global setup writes once, or with
// DATABASE_URL its own PostgreSQL database; then without the files listed in test/database-free.ts). `kafka` runs after it, one file at a time (one of them stops
// and restarts the broker), against a real broker its global setup starts.
import os from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { DATABASE_FREE_TEST_FILES } from './test/database-free.js';

/**
 * Test files running at once in `main`: twice the cores. Most of a file's time is waiting (windows, timers,
 * HTTP to local producers, child processes, a browser), so more files than cores fill the CPU; vitest's
 * default (cores - 1: one file at a time on 2 cores) left it mostly idle. VITEST_MAX_WORKERS overrides.
 */
const MAIN_WORKERS = Number(process.env.VITEST_MAX_WORKERS) || Math.max(2, 2 * os.availableParallelism());

export default defineConfig({
  test: {
    testTimeout: 30_000,
    // Bounds on waiting (starting an app, a database, a browser), not speed checks: several files start at
    // once, and on a loaded machine a start can take long.
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          // On PostgreSQL (test:postgres) the files that never open a database are left out: they ran in `npm test`.
          exclude: [
            ...configDefaults.exclude,
            'test/kafka/**',
            ...(process.env.DATABASE_URL ? DATABASE_FREE_TEST_FILES : []),
          ],
          globalSetup: ['test/helpers/embedded-template-setup.ts'],
          maxWorkers: MAIN_WORKERS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'kafka',
          include: ['test/kafka/**/*.test.ts'],
          globalSetup: ['test/kafka/global-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
