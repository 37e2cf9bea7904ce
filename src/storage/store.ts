/**
 * Where runs keep their data, seen from one process (a worker or a client). Every party finds a run
 * by its id under its *own* store, never by another machine's path:
 * - `FsStore` (the embedded default): `<dataDir>/runs/<runId>/` on this machine's disk;
 * - `PgStore` (`DEEPFABRIC_STORE=postgres://...`): rows in PostgreSQL, so workers need no shared disk.
 *
 * A store has an id (a random UUID kept in the store itself). The client puts its store's id in the
 * run input; a worker whose store has another id refuses the run's first batch at once, naming both
 * (two workers with separate folders would otherwise each hold half the shards, and the run would
 * end with a dataset nobody can assemble).
 */
import type { Claim, DedupSettings, Verdict } from '../dataset/dedup';
import type { Pacer } from '../llm/pacing';
import type { Shard } from './run-store';

/** A run's topic paths and, for graph nodes, each topic's id (DeepFabric's node uuid; a path's id otherwise). */
export interface StoredTopics {
  paths: string[][];
  ids?: string[] | undefined;
}

export interface RunData {
  /** Human description of where it is (a folder, or `postgres <db> run <id>`). */
  readonly location: string;
  hasShard(batch: number): Promise<boolean>;
  /** Stores a batch's shard once: a second write of the same batch keeps the first (idempotent). */
  writeShard<S>(batch: number, shard: Shard<S>): Promise<void>;
  readShard<S>(batch: number): Promise<Shard<S>>;
  shardIndices(): Promise<number[]>;
  appendError(batch: number, entry: Record<string, unknown>): Promise<void>;
  readErrors(batch: number): Promise<Record<string, unknown>[]>;
  /**
   * One model call's checkpoint in a batch (a retry of the batch redoes only the calls without one). PostgreSQL keeps the first write of a call (a finished call's outcome) unless `replace` (the progress of a call still running); a folder keeps the latest.
   */
  writeCall(batch: number, call: number, outcome: unknown, opts?: { replace?: boolean }): Promise<void>;
  /** The checkpoints of `calls` of a batch, read at once (a retry reads its batch's before calling anyone). */
  readCalls(batch: number, calls: readonly number[]): Promise<Map<number, unknown>>;
  /** One call's checkpoint (`readCalls` for one call). */
  readCall<T>(batch: number, call: number): Promise<T | undefined>;
  /**
   * The run's layout (examples per call, calls per batch), fixed by its first start: batch `k` of a
   * run covers the same examples whatever a later config says. Returns the stored layout.
   */
  layout(proposed: RunLayout): Promise<RunLayout>;
  /**
   * The run's claims log (accepted examples' dedup keys), append-only and in one order every reader
   * sees: a batch appends its claims in one write, then reads the log from `from` (0 or a previous
   * `next`) to decide which of its examples an earlier claim already covers.
   */
  appendClaims(claims: Claim[]): Promise<void>;
  readClaims(from: number): Promise<{ claims: Claim[]; next: number }>;
  /**
   * Appends `claims` to the log and decides each against every claim before it, in the store: the
   * store keeps the claims' index keys (exact key, LSH bands) and hands back only the earlier claims
   * that share one (`verdictsAfter`), so no worker holds the run's index (PostgreSQL: memory stays
   * flat however large the run). Stores without it: each worker reads the log into its own index.
   */
  claimAndCheck?(claims: Claim[], settings: DedupSettings): Promise<Verdict[]>;
  /** The run's topics, when they travel by reference (large sets, and topics with ids of their own: graph nodes). */
  writeTopics(topics: StoredTopics): Promise<void>;
  readTopics(): Promise<StoredTopics>;
  /**
   * Joins the shards in batch order into the run's dataset, at most `numSteps` records (streamed:
   * never the whole dataset in memory). Idempotent. A store that reads the shards itself hands each one
   * (its summary and the records taken) to `onShard`, so the caller measures them in the same pass.
   */
  assemble(numSteps: number, onShard: (batch: number, taken?: Shard<unknown>) => void): Promise<{ records: number; shards: number }>;
  writeManifest(manifest: Record<string, unknown>): Promise<void>;
  /** The manifest written when the run ended (undefined while it runs, or before its first end). */
  readManifest(): Promise<Record<string, unknown> | undefined>;
  /** Writes the assembled dataset to a file on this machine; returns the record count (undefined: not assembled). */
  exportDataset(file: string): Promise<number | undefined>;
}

export interface RunLayout {
  examplesPerCall: number;
  callsPerBatch: number;
}

/**
 * A topic build's data in a store: its expanded nodes (checkpoints) and its result files, found by
 * build id under the store's own root, so workers on any machine share them (never a client path).
 */
export interface TopicBuildData {
  readNode<T>(key: string): Promise<T | undefined>;
  writeNode(key: string, value: unknown): Promise<void>;
  writeFile(name: string, text: string): Promise<void>;
  readFile(name: string): Promise<string | undefined>;
}

export interface Store extends Pacer {
  /** `fs:<folder>` or `postgres:<host>/<db>` (no credentials). */
  readonly description: string;
  id(): Promise<string>;
  run(runId: string): RunData;
  topicBuild(buildId: string): TopicBuildData;
  close(): Promise<void>;
}

/**
 * A run's data in this worker's store. Refuses (non-retryable `configuration_error`, so the run stops
 * at its first batch) a run whose client uses another store.
 */
export async function runDataFor(store: Store, input: { runId: string; storeId: string }): Promise<RunData> {
  const mine = await store.id();
  if (mine !== input.storeId) {
    throw new StoreMismatchError(
      `run ${input.runId} was started by a client whose store is not this worker's (${store.description}; store ids ${input.storeId.slice(0, 8)} there, ${mine.slice(0, 8)} here): ` +
        'every worker of a run and its client need one store. Give them the same folder (DEEPFABRIC_DATA_DIR on a shared volume) or set DEEPFABRIC_STORE=postgres://... for all of them',
    );
  }
  return store.run(input.runId);
}

/** A worker's store is not the client's (see `runDataFor`). */
export class StoreMismatchError extends Error {
  override readonly name = 'StoreMismatchError';
}
