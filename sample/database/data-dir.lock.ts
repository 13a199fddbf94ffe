import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SampleStartupError } from '../sample-startup.error';

export interface DataDirLock {
  release(): void;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims `dataDir` for this process. PGlite is a single-process database with no lock of its
 * own: two sample processes on one data directory would corrupt it. A lock left by a process
 * that no longer runs (killed, crashed) is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, 'sample.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rmSync(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8'));
      if (Number.isSafeInteger(owner) && owner > 0 && isRunning(owner)) {
        throw new SampleStartupError(
          `${dataDir} is in use by another sample process (pid ${owner}); stop it, or set DATABASE_URL to use a PostgreSQL server`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new SampleStartupError(`Could not lock ${dataDir}: remove ${path} and try again`);
}
