// Whether the real outside parts some tests drive are on this machine: Java and Maven (the Kafka broker,
// the Apache CXF client), Chromium (the browser tests). Without them such a test cannot run: it skips and
// says why, and in CI (CI set) it fails instead, so that a CI run never passes by skipping.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export type Prerequisites = { ready: true } | { ready: false; reason: string };

function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 });
  return result.status === 0;
}

/** `needs`: what is missing, in words a reader can act on (e.g. the Debian packages). */
export function javaPrerequisites(needs: { java?: boolean; maven?: boolean }): Prerequisites {
  const missing = [
    ...(needs.java && !runs('java', ['-version']) ? ['java (Java 17 or later; Debian: openjdk-17-jre-headless)'] : []),
    ...(needs.maven && !runs('mvn', ['-v']) ? ['mvn (Apache Maven; Debian: maven)'] : []),
  ];
  return missing.length === 0 ? { ready: true } : { ready: false, reason: `not found: ${missing.join('; ')}` };
}

/** Debian's chromium package; the browser tests drive it with playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

export function chromiumPrerequisites(): Prerequisites {
  return fs.existsSync(CHROMIUM)
    ? { ready: true }
    : { ready: false, reason: `not found: ${CHROMIUM} (Debian: apt-get install chromium)` };
}

/** Skips (saying why) outside CI; in CI a missing part is an error, never a silent skip. */
export function requireOrSkip(what: string, prerequisites: Prerequisites): boolean {
  if (prerequisites.ready) return true;
  const message = `${what} cannot run: ${prerequisites.reason}`;
  if (process.env.CI) throw new Error(message);
  console.warn(`[${what} skipped] ${prerequisites.reason}`);
  return false;
}
