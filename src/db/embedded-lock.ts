// PGlite keeps no lock of its own: a second process opening the same directory would corrupt it.
// A lock file next to the directory (holding the owner's pid) makes the second one stop with a message.
import fs from 'node:fs';

export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError';
}

// Directories this process holds: a lock file with our own pid that is not here is left from an
// earlier run (containers reuse pids) and may be taken over.
const held = new Set<string>();

function ownerOf(lockFile: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of the embedded database in `dataDir`; the returned function releases it. */
export function lockEmbeddedDatabase(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      held.add(lockFile);
      const release = () => {
        if (!held.delete(lockFile)) return;
        if (ownerOf(lockFile) === process.pid) fs.rmSync(lockFile, { force: true });
      };
      process.once('exit', release);
      return () => {
        process.removeListener('exit', release);
        release();
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = ownerOf(lockFile);
    const stale = owner === undefined || (owner === process.pid ? !held.has(lockFile) : !isAlive(owner));
    if (!stale) {
      throw new DatabaseInUseError(
        `The embedded database in ${dataDir} is in use by process ${owner} (PGlite serves one process at a time). ` +
          'Stop that process first, or use PostgreSQL (DATABASE_URL) to share the database.',
      );
    }
    fs.rmSync(lockFile, { force: true });
  }
  throw new DatabaseInUseError(`Could not take the lock ${lockFile}`);
}
