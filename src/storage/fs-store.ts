/** The data-folder store (the embedded default): runs under `<dataDir>/runs/<runId>/` on this machine's disk. */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Claim } from '../dataset/dedup';
import { DataSetGeneratorError } from '../errors';
import { writeFileAtomic } from '../files';
import { reserve, slowDown, type PacingSettings, type PacingState } from '../llm/pacing';
import { readTopicsFile } from '../topics/topic-paths-file';
import { withFileLock } from './file-lock';
import { appendToFile, RunStore, type Shard } from './run-store';
import type { RunData, RunLayout, Store, StoredTopics, TopicBuildData } from './store';

/** Runs under `<dataDir>/runs/<runId>` on this machine. */
export class FsStore implements Store {
  constructor(readonly dataDir: string) {}
  get description(): string {
    return `folder ${this.dataDir}`;
  }
  private idPromise: Promise<string> | undefined;
  /** The folder's id, created on first use (O_EXCL, so two processes agree on one). */
  id(): Promise<string> {
    this.idPromise ??= (async () => {
      const file = path.join(this.dataDir, 'store-id');
      await fs.mkdir(this.dataDir, { recursive: true });
      try {
        await fs.writeFile(file, `${randomUUID()}\n`, { flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // A writer may be between create and write: wait for the id to appear.
      for (let i = 0; i < 100; i++) {
        const id = (await fs.readFile(file, 'utf8')).trim();
        if (id) return id;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new DataSetGeneratorError(`${file} is empty; delete it and start again`, 'store_error');
    })();
    return this.idPromise;
  }
  run(runId: string): RunData {
    return new FsRunData(path.join(this.dataDir, 'runs', runId));
  }
  topicBuild(buildId: string): TopicBuildData {
    const dir = path.join(this.dataDir, 'topics', buildId);
    const nodePath = (key: string) => path.join(dir, 'nodes', `${key}.json`);
    const read = (file: string) =>
      fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
    return {
      readNode: async <T>(key: string) => {
        const text = await read(nodePath(key));
        return text === undefined ? undefined : (JSON.parse(text) as T);
      },
      writeNode: async (key, value) => {
        await fs.mkdir(path.join(dir, 'nodes'), { recursive: true });
        // First answer wins, as in PostgreSQL: a node expanded twice keeps one set of children.
        if ((await read(nodePath(key))) === undefined) await writeFileAtomic(nodePath(key), JSON.stringify(value));
      },
      writeFile: async (name, text) => {
        await fs.mkdir(dir, { recursive: true });
        await writeFileAtomic(path.join(dir, name), text);
      },
      readFile: (name) => read(path.join(dir, name)),
    };
  }
  async reserve(key: string, s: PacingSettings): Promise<number> {
    const slot = await this.reserveSlot(key, s);
    return Math.max(0, slot.startAt - slot.now);
  }
  reserveSlot(key: string, s: PacingSettings): Promise<{ startAt: number; now: number }> {
    return this.underPacingLock(key, (state, now) => {
      const r = reserve(state, now, s);
      return { state: r.state, result: { startAt: r.startAt, now } };
    });
  }
  async slowDown(key: string, s: PacingSettings): Promise<void> {
    await this.underPacingLock(key, (state, now) => ({ state: slowDown(state, now, s), result: undefined }));
  }
  /** Runs `fn` on an endpoint's pacing state under a lock file that every process on this machine respects. */
  private async underPacingLock<T>(key: string, fn: (state: PacingState | undefined, now: number) => { state: PacingState; result: T }): Promise<T> {
    const dir = path.join(this.dataDir, 'pacing');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.json`);
    // Held for one read and one write: poll often.
    return withFileLock(
      `${file}.lock`,
      async () => {
        const state = await fs.readFile(file, 'utf8').then(
          (t) => JSON.parse(t) as PacingState,
          () => undefined,
        );
        const { state: next, result } = fn(state, Date.now());
        await fs.writeFile(file, JSON.stringify(next));
        return result;
      },
      { pollMs: 2 },
    );
  }
  async close(): Promise<void> {}
}

class FsRunData implements RunData {
  private readonly files: RunStore;
  constructor(readonly dir: string) {
    this.files = new RunStore(dir);
  }
  get location(): string {
    return this.dir;
  }
  hasShard(batch: number) {
    return this.files.hasShard(batch);
  }
  async writeShard<S>(batch: number, shard: Shard<S>) {
    if (await this.files.hasShard(batch)) return;
    await this.files.writeShard(batch, shard);
  }
  readShard<S>(batch: number) {
    return this.files.readShard<S>(batch);
  }
  shardIndices() {
    return this.files.shardIndices();
  }
  appendError(batch: number, entry: Record<string, unknown>) {
    return this.files.appendError(batch, entry);
  }
  readErrors(batch: number) {
    return this.files.readErrors(batch);
  }
  /**
   * A call's checkpoint is one line appended to its batch's calls log (one O_APPEND write, no
   * fsync): it survives the worker's death (the page cache outlives a process), and is cheap enough
   * for every call. A torn last line (the machine, not the process, went down) reads as no
   * checkpoint: that call is made again, never a wrong record. The latest line of a call wins.
   */
  async writeCall(batch: number, call: number, outcome: unknown) {
    await this.files.appendCall(batch, JSON.stringify({ call, outcome }) + '\n');
  }
  async readCalls(batch: number, calls: readonly number[]): Promise<Map<number, unknown>> {
    const wanted = new Set(calls);
    const found = new Map<number, unknown>();
    // One read of the log; a later line of a call replaces an earlier one.
    for (const line of await this.files.readCalls(batch)) {
      let entry: { call?: unknown; outcome?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // a torn line
      }
      if (typeof entry.call === 'number' && wanted.has(entry.call)) found.set(entry.call, entry.outcome);
    }
    return found;
  }
  async readCall<T>(batch: number, call: number): Promise<T | undefined> {
    return (await this.readCalls(batch, [call])).get(call) as T | undefined;
  }
  async layout(proposed: RunLayout): Promise<RunLayout> {
    const file = path.join(this.dir, 'layout.json');
    await fs.mkdir(this.dir, { recursive: true });
    try {
      await fs.writeFile(file, JSON.stringify(proposed) + '\n', { flag: 'wx' });
      return proposed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return JSON.parse(await fs.readFile(file, 'utf8')) as RunLayout;
    }
  }
  async appendClaims(claims: Claim[]) {
    await fs.mkdir(this.dir, { recursive: true });
    // One O_APPEND write: on a local file system it lands whole, after every write that began before it.
    await appendToFile(path.join(this.dir, 'claims.jsonl'), claims.map((c) => JSON.stringify(c) + '\n').join(''));
  }
  async readClaims(from: number): Promise<{ claims: Claim[]; next: number }> {
    let fh;
    try {
      fh = await fs.open(path.join(this.dir, 'claims.jsonl'), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { claims: [], next: from };
      throw err;
    }
    try {
      const { size } = await fh.stat();
      if (size <= from) return { claims: [], next: from };
      const buf = Buffer.alloc(size - from);
      const { bytesRead } = await fh.read(buf, 0, buf.length, from);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      // Only whole lines: a write still in progress after ours is read next time.
      const end = text.lastIndexOf('\n') + 1;
      const claims = text
        .slice(0, end)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Claim);
      return { claims, next: from + Buffer.byteLength(text.slice(0, end)) };
    } finally {
      await fh.close();
    }
  }
  async writeTopics({ paths, ids }: StoredTopics) {
    await fs.mkdir(this.dir, { recursive: true });
    const lines = paths.map((p, i) => JSON.stringify(ids ? { path: p, topic_id: ids[i] } : { path: p }) + '\n');
    await writeFileAtomic(path.join(this.dir, 'topics.jsonl'), lines.join(''));
  }
  async readTopics(): Promise<StoredTopics> {
    return readTopicsFile(path.join(this.dir, 'topics.jsonl'));
  }
  async assemble(numSteps: number, onShard: (batch: number, taken?: Shard<unknown>) => void) {
    const indices = await this.files.shardIndices();
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = `${this.files.datasetPath}.${process.pid}.assembling`;
    const out = await fs.open(tmp, 'w');
    let records = 0;
    try {
      for (const batch of indices) {
        if (records >= numSteps) break;
        const { summary, records: rows } = await this.files.readShard(batch);
        const take = rows.slice(0, numSteps - records);
        if (take.length) await out.write(take.map((r) => JSON.stringify(r)).join('\n') + '\n');
        records += take.length;
        onShard(batch, { summary, records: take });
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await fs.rename(tmp, this.files.datasetPath);
    return { records, shards: indices.length };
  }
  async writeManifest(manifest: Record<string, unknown>) {
    await writeFileAtomic(this.files.manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  }
  async readManifest(): Promise<Record<string, unknown> | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.files.manifestPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  async exportDataset(file: string): Promise<number | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.files.datasetPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (path.resolve(file) !== path.resolve(this.files.datasetPath)) {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, text);
      await fs.copyFile(this.files.manifestPath, path.join(path.dirname(file), 'manifest.json')).catch(() => undefined);
    }
    return text.split('\n').filter(Boolean).length;
  }
}
