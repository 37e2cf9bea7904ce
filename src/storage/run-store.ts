import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DataSetGeneratorError } from '../errors';

/**
 * The run folder on disk, shared by all workers of a run:
 *   shards/batch-000007.json         {"summary", "records"}: one file, one atomic rename (the checkpoint)
 *   shards/batch-000007.errors.jsonl failed attempts of the batch (category, message), for stats and retry prompts
 *   shards/batch-000007.calls.jsonl  each finished model call of the batch (its checkpoint), one line per call
 *   dataset.jsonl, manifest.json     the assembled result
 */
export class RunStore {
  constructor(readonly dir: string) {}

  get shardsDir(): string {
    return path.join(this.dir, 'shards');
  }
  shardPath(batch: number): string {
    return path.join(this.shardsDir, `batch-${String(batch).padStart(6, '0')}.json`);
  }
  errorsPath(batch: number): string {
    return path.join(this.shardsDir, `batch-${String(batch).padStart(6, '0')}.errors.jsonl`);
  }
  get datasetPath(): string {
    return path.join(this.dir, 'dataset.jsonl');
  }
  get manifestPath(): string {
    return path.join(this.dir, 'manifest.json');
  }

  async hasShard(batch: number): Promise<boolean> {
    return exists(this.shardPath(batch));
  }

  /** Writes the batch's summary and records as one file, atomically. */
  async writeShard<S>(batch: number, shard: Shard<S>): Promise<void> {
    await this.ensureShardsDir();
    await writeFileAtomic(this.shardPath(batch), JSON.stringify(shard));
  }

  async readShard<S>(batch: number): Promise<Shard<S>> {
    return JSON.parse(await fs.readFile(this.shardPath(batch), 'utf8')) as Shard<S>;
  }

  private async ensureShardsDir(): Promise<void> {
    if (madeDirs.has(this.shardsDir)) return;
    await fs.mkdir(this.shardsDir, { recursive: true });
    madeDirs.add(this.shardsDir);
  }

  /** Appends one failed attempt; small appends of one line are atomic enough for a log. */
  async appendError(batch: number, entry: Record<string, unknown>): Promise<void> {
    await this.ensureShardsDir();
    await fs.appendFile(this.errorsPath(batch), JSON.stringify(entry) + '\n');
  }

  callsPath(batch: number): string {
    return path.join(this.shardsDir, `batch-${String(batch).padStart(6, '0')}.calls.jsonl`);
  }

  /** Appends one line to the batch's calls log (one O_APPEND write). */
  async appendCall(batch: number, line: string): Promise<void> {
    await this.ensureShardsDir();
    await fs.appendFile(this.callsPath(batch), line);
  }

  /** The calls log's lines (the last may be torn); none when there is no log. */
  async readCalls(batch: number): Promise<string[]> {
    try {
      return (await fs.readFile(this.callsPath(batch), 'utf8')).split('\n').filter((l) => l.length > 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async readErrors(batch: number): Promise<Record<string, unknown>[]> {
    try {
      return parseJsonl(await fs.readFile(this.errorsPath(batch), 'utf8')) as Record<string, unknown>[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Indices of the batches whose shard exists, ascending. */
  async shardIndices(): Promise<number[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.shardsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .map((n) => /^batch-(\d+)\.json$/.exec(n)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }
}

/** One batch's checkpoint: its summary and its accepted records. */
export interface Shard<S> {
  summary: S;
  records: unknown[];
}

/** Folders already created by this process (saves a syscall per batch). */
const madeDirs = new Set<string>();

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
