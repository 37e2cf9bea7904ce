/**
 * A lock between processes of one machine: a file created with O_EXCL holding the holder's pid. A
 * lock left by a process that is gone is taken over; a live holder is waited for.
 */
import { promises as fs } from 'node:fs';
import { DataSetGeneratorError } from '../errors';

/** True when a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding `lockFile`. `pollMs` is the wait between tries (jittered up to twice that);
 * after `maxWaitMs` behind a live holder it fails, naming the file and the holder.
 */
export async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, opts: { pollMs?: number; maxWaitMs?: number } = {}): Promise<T> {
  const poll = opts.pollMs ?? 50;
  const maxWait = opts.maxWaitMs ?? 20 * 60_000;
  const deadline = Date.now() + maxWait;
  for (;;) {
    try {
      const handle = await fs.open(lockFile, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim());
      // An empty file is a lock being written this instant; a dead holder's lock is stale.
      if (holder > 0 && !processAlive(holder)) await fs.rm(lockFile, { force: true });
      else if (Date.now() > deadline)
        throw new DataSetGeneratorError(
          `${lockFile} has been held by process ${holder} for ${Math.round(maxWait / 60_000)} minutes; remove it if that process is stuck`,
          'store_error',
        );
      else await new Promise((r) => setTimeout(r, poll + Math.random() * poll));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockFile, { force: true });
  }
}
