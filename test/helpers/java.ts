// Whether Java and Maven are on this machine, for the tests that run real Java parts (the Kafka broker,
// the Apache CXF client). Without them such a test cannot run: it says why, and in CI it fails.
import { spawnSync } from 'node:child_process';

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

/** Skips (saying why) outside CI; in CI a missing part is an error, never a silent skip. */
export function requireOrSkip(what: string, prerequisites: Prerequisites): boolean {
  if (prerequisites.ready) return true;
  const message = `${what} cannot run: ${prerequisites.reason}`;
  if (process.env.CI) throw new Error(message);
  console.warn(`[${what} skipped] ${prerequisites.reason}`);
  return false;
}
