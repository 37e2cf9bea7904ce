/** File helpers every layer uses: atomic writes, existence, JSONL parsing. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataSetGeneratorError } from './errors';

/** Writes through a temp file in the same folder and renames, so readers never see half a file. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // A missing parent folder is made, for every save_as alike: a topic build paid for must not fail at its last step.
  const handle = await fs.open(tmp, 'w').catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    return fs.open(tmp, 'w');
  });
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Parses JSONL; a bad line throws with its line number. */
export function parseJsonl(text: string, source = 'JSONL'): unknown[] {
  const out: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line));
    } catch (err) {
      throw new DataSetGeneratorError(`${source}: line ${i + 1} is not valid JSON (${(err as Error).message})`, 'store_error');
    }
  });
  return out;
}
