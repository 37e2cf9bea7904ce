import { appendFile as appendFileCallback, promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { exists, parseJsonl, writeFileAtomic } from '../files';

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
    await appendToFile(this.errorsPath(batch), JSON.stringify(entry) + '\n');
  }

  callsPath(batch: number): string {
    return path.join(this.shardsDir, `batch-${String(batch).padStart(6, '0')}.calls.jsonl`);
  }

  /** Appends one line to the batch's calls log (one O_APPEND write). */
  async appendCall(batch: number, line: string): Promise<void> {
    await this.ensureShardsDir();
    await appendToFile(this.callsPath(batch), line);
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

/**
 * An O_APPEND write of `data` to `file`. The callback API, not `fs.promises`: it works on a plain file
 * descriptor, while the promise API makes a FileHandle object per append (measured at 512 calls in flight:
 * creating and collecting them was ~8% of the worker's CPU).
 */
export const appendToFile: (file: string, data: string) => Promise<void> = promisify(appendFileCallback);

/** Folders already created by this process (saves a syscall per batch). */
const madeDirs = new Set<string>();
