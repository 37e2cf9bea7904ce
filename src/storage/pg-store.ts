/**
 * Runs in PostgreSQL (`DEEPFABRIC_STORE=postgres://user:pass@host:5432/deepfabric`): workers on any
 * machines share it, none needs a shared disk. A shard is one row keyed by (run, batch), inserted
 * only if absent, so a batch retried on another worker after a crash never stores twice. Records
 * are `json` (not `jsonb`), which keeps each example's text and key order exactly as generated.
 * Assembly runs in the database (one INSERT ... SELECT over the shards in batch order), so a 100k
 * dataset never passes through a worker's memory.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Pool, type PoolClient } from 'pg';
import { writeFileAtomic } from '../files';
import type { Shard } from './run-store';
import { claimKeys, verdictsAfter, type Claim, type DedupSettings, type Verdict } from '../dataset/dedup';
import { reserve, slowDown, type PacingSettings, type PacingState } from '../llm/pacing';
import type { RunData, RunLayout, Store, StoredTopics, TopicBuildData } from './store';
import { DataSetGeneratorError } from '../errors';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deepfabric_meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO deepfabric_meta (key, value) VALUES ('store_id', gen_random_uuid()::text) ON CONFLICT (key) DO NOTHING;
CREATE TABLE IF NOT EXISTS deepfabric_shards (run_id text NOT NULL, batch integer NOT NULL, summary json NOT NULL, records json NOT NULL, PRIMARY KEY (run_id, batch));
CREATE TABLE IF NOT EXISTS deepfabric_shard_errors (id bigserial PRIMARY KEY, run_id text NOT NULL, batch integer NOT NULL, entry json NOT NULL);
CREATE INDEX IF NOT EXISTS deepfabric_shard_errors_batch ON deepfabric_shard_errors (run_id, batch);
CREATE TABLE IF NOT EXISTS deepfabric_calls (run_id text NOT NULL, batch integer NOT NULL, call integer NOT NULL, outcome json NOT NULL, PRIMARY KEY (run_id, batch, call));
CREATE TABLE IF NOT EXISTS deepfabric_layouts (run_id text PRIMARY KEY, layout json NOT NULL);
CREATE TABLE IF NOT EXISTS deepfabric_claims (id bigserial PRIMARY KEY, run_id text NOT NULL, claim json NOT NULL);
CREATE INDEX IF NOT EXISTS deepfabric_claims_run ON deepfabric_claims (run_id, id);
CREATE TABLE IF NOT EXISTS deepfabric_claim_keys (run_id text NOT NULL, kind smallint NOT NULL, key bigint NOT NULL, id bigint NOT NULL);
CREATE INDEX IF NOT EXISTS deepfabric_claim_keys_key ON deepfabric_claim_keys (run_id, kind, key);
CREATE TABLE IF NOT EXISTS deepfabric_claim_index (run_id text PRIMARY KEY, indexed_to bigint NOT NULL);
CREATE TABLE IF NOT EXISTS deepfabric_pacing (key text PRIMARY KEY, tat double precision NOT NULL, interval_ms double precision NOT NULL);
ALTER TABLE deepfabric_pacing ADD COLUMN IF NOT EXISTS slowed_at double precision;
ALTER TABLE deepfabric_pacing ADD COLUMN IF NOT EXISTS floor_ms double precision;
CREATE TABLE IF NOT EXISTS deepfabric_topic_nodes (build_id text NOT NULL, key text NOT NULL, value json NOT NULL, PRIMARY KEY (build_id, key));
CREATE TABLE IF NOT EXISTS deepfabric_topic_files (build_id text NOT NULL, name text NOT NULL, text text NOT NULL, PRIMARY KEY (build_id, name));
CREATE TABLE IF NOT EXISTS deepfabric_topics (run_id text PRIMARY KEY, paths json NOT NULL);
CREATE TABLE IF NOT EXISTS deepfabric_dataset (run_id text NOT NULL, n integer NOT NULL, record json NOT NULL, PRIMARY KEY (run_id, n));
CREATE TABLE IF NOT EXISTS deepfabric_manifests (run_id text PRIMARY KEY, manifest json NOT NULL);
`;

/** Runs `fn` in a transaction holding the advisory lock named `name`; releases the client. */
async function underLock(client: PoolClient, name: string, fn: (c: PoolClient) => Promise<unknown>): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`deepfabric:${name}`]);
    await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Without credentials, for messages. */
function describePgUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres ${u.host}${u.pathname}`;
  } catch {
    return 'postgres (unparsable URL)';
  }
}

export class PgStore implements Store {
  private constructor(
    private readonly pool: Pool,
    readonly description: string,
  ) {}

  static async connect(url: string): Promise<PgStore> {
    const pool = new Pool({ connectionString: url, max: 8 });
    pool.on('error', () => undefined); // an idle client's error surfaces on the next query
    const store = new PgStore(pool, describePgUrl(url));
    const client = await pool.connect().catch((err: Error) => {
      void pool.end();
      throw new DataSetGeneratorError(`DEEPFABRIC_STORE: cannot reach ${store.description}: ${err.message}`, 'store_error');
    });
    // Workers starting together must not race on CREATE TABLE: one at a time under an advisory lock.
    await underLock(client, 'schema', (c) => c.query(SCHEMA));
    return store;
  }

  private idPromise: Promise<string> | undefined;
  id(): Promise<string> {
    this.idPromise ??= this.pool.query<{ value: string }>(`SELECT value FROM deepfabric_meta WHERE key = 'store_id'`).then((r) => r.rows[0]!.value);
    return this.idPromise;
  }

  run(runId: string): RunData {
    return new PgRunData(this.pool, runId, `${this.description} run ${runId}`);
  }

  topicBuild(buildId: string): TopicBuildData {
    const pool = this.pool;
    return {
      async readNode<T>(key: string) {
        const r = await pool.query<{ value: string }>('SELECT value::text AS value FROM deepfabric_topic_nodes WHERE build_id = $1 AND key = $2', [
          buildId,
          key,
        ]);
        return r.rows[0] ? (JSON.parse(r.rows[0].value) as T) : undefined;
      },
      async writeNode(key, value) {
        // First answer wins: a node expanded twice (a retry racing a slow attempt) keeps one set of children.
        await pool.query('INSERT INTO deepfabric_topic_nodes (build_id, key, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          buildId,
          key,
          JSON.stringify(value),
        ]);
      },
      async writeFile(name, text) {
        await pool.query(
          'INSERT INTO deepfabric_topic_files (build_id, name, text) VALUES ($1, $2, $3) ON CONFLICT (build_id, name) DO UPDATE SET text = EXCLUDED.text',
          [buildId, name, text],
        );
      },
      async readFile(name) {
        const r = await pool.query<{ text: string }>('SELECT text FROM deepfabric_topic_files WHERE build_id = $1 AND name = $2', [buildId, name]);
        return r.rows[0]?.text;
      },
    };
  }

  async reserve(key: string, s: PacingSettings): Promise<number> {
    const slot = await this.reserveSlot(key, s);
    return Math.max(0, slot.startAt - slot.now);
  }
  reserveSlot(key: string, s: PacingSettings): Promise<{ startAt: number; now: number }> {
    return this.pacing(key, (state, now) => {
      const r = reserve(state, now, s);
      return { state: r.state, result: { startAt: r.startAt, now } };
    });
  }
  async slowDown(key: string, s: PacingSettings): Promise<void> {
    await this.pacing(key, (state, now) => ({ state: slowDown(state, now, s), result: undefined }));
  }
  /** Runs `fn` on an endpoint's pacing row, locked, on the database's clock (workers' clocks may differ). */
  private async pacing<T>(key: string, fn: (state: PacingState | undefined, now: number) => { state: PacingState; result: T }): Promise<T> {
    let result!: T;
    await underLock(await this.pool.connect(), `pacing:${key}`, async (c) => {
      const r = await c.query<{ tat: number | null; interval_ms: number | null; slowed_at: number | null; floor_ms: number | null; now: string }>(
        'SELECT p.tat, p.interval_ms, p.slowed_at, p.floor_ms, (extract(epoch from clock_timestamp()) * 1000)::text AS now FROM (SELECT 1) AS one LEFT JOIN deepfabric_pacing p ON p.key = $1',
        [key],
      );
      const row = r.rows[0]!;
      const state =
        row.tat === null || row.interval_ms === null
          ? undefined
          : {
              tat: row.tat,
              intervalMs: row.interval_ms,
              ...(row.slowed_at !== null ? { slowedAt: row.slowed_at } : {}),
              ...(row.floor_ms !== null ? { floorMs: row.floor_ms } : {}),
            };
      const out = fn(state, Number(row.now));
      await c.query(
        'INSERT INTO deepfabric_pacing (key, tat, interval_ms, slowed_at, floor_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET tat = EXCLUDED.tat, interval_ms = EXCLUDED.interval_ms, slowed_at = EXCLUDED.slowed_at, floor_ms = EXCLUDED.floor_ms',
        [key, out.state.tat, out.state.intervalMs, out.state.slowedAt ?? null, out.state.floorMs ?? null],
      );
      result = out.result;
    });
    return result;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class PgRunData implements RunData {
  constructor(
    private readonly pool: Pool,
    private readonly runId: string,
    readonly location: string,
  ) {}

  async hasShard(batch: number): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM deepfabric_shards WHERE run_id = $1 AND batch = $2', [this.runId, batch]);
    return (r.rowCount ?? 0) > 0;
  }
  async writeShard<S>(batch: number, shard: Shard<S>): Promise<void> {
    await this.pool.query('INSERT INTO deepfabric_shards (run_id, batch, summary, records) VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, batch) DO NOTHING', [
      this.runId,
      batch,
      JSON.stringify(shard.summary),
      JSON.stringify(shard.records),
    ]);
  }
  async readShard<S>(batch: number): Promise<Shard<S>> {
    const r = await this.pool.query<{ summary: string; records: string }>(
      'SELECT summary::text AS summary, records::text AS records FROM deepfabric_shards WHERE run_id = $1 AND batch = $2',
      [this.runId, batch],
    );
    const row = r.rows[0];
    if (!row) throw new DataSetGeneratorError(`${this.location}: no shard for batch ${batch}`, 'store_error');
    return { summary: JSON.parse(row.summary) as S, records: JSON.parse(row.records) as unknown[] };
  }
  async shardIndices(): Promise<number[]> {
    const r = await this.pool.query<{ batch: number }>('SELECT batch FROM deepfabric_shards WHERE run_id = $1 ORDER BY batch', [this.runId]);
    return r.rows.map((x) => x.batch);
  }
  async appendError(batch: number, entry: Record<string, unknown>): Promise<void> {
    await this.pool.query('INSERT INTO deepfabric_shard_errors (run_id, batch, entry) VALUES ($1, $2, $3)', [this.runId, batch, JSON.stringify(entry)]);
  }
  async readErrors(batch: number): Promise<Record<string, unknown>[]> {
    const r = await this.pool.query<{ entry: string }>(
      'SELECT entry::text AS entry FROM deepfabric_shard_errors WHERE run_id = $1 AND batch = $2 ORDER BY id',
      [this.runId, batch],
    );
    return r.rows.map((x) => JSON.parse(x.entry) as Record<string, unknown>);
  }
  async writeCall(batch: number, call: number, outcome: unknown, opts?: { replace?: boolean }): Promise<void> {
    const onConflict = opts?.replace ? 'ON CONFLICT (run_id, batch, call) DO UPDATE SET outcome = EXCLUDED.outcome' : 'ON CONFLICT DO NOTHING';
    await this.pool.query(`INSERT INTO deepfabric_calls (run_id, batch, call, outcome) VALUES ($1, $2, $3, $4) ${onConflict}`, [
      this.runId,
      batch,
      call,
      JSON.stringify(outcome),
    ]);
  }
  async readCalls(batch: number, calls: readonly number[]): Promise<Map<number, unknown>> {
    const r = await this.pool.query<{ call: number; outcome: string }>(
      'SELECT call, outcome::text AS outcome FROM deepfabric_calls WHERE run_id = $1 AND batch = $2 AND call = ANY($3::int[])',
      [this.runId, batch, [...calls]],
    );
    return new Map(r.rows.map((row) => [row.call, JSON.parse(row.outcome) as unknown]));
  }
  async readCall<T>(batch: number, call: number): Promise<T | undefined> {
    return (await this.readCalls(batch, [call])).get(call) as T | undefined;
  }
  async appendClaims(claims: Claim[]): Promise<void> {
    // One appender per run at a time, so ids are in commit order and every reader sees one order.
    await underLock(await this.pool.connect(), `claims:${this.runId}`, (c) =>
      c.query('INSERT INTO deepfabric_claims (run_id, claim) SELECT $1, c FROM json_array_elements($2::json) AS c', [this.runId, JSON.stringify(claims)]),
    );
  }
  async claimAndCheck(claims: Claim[], settings: DedupSettings): Promise<Verdict[]> {
    let verdicts: Verdict[] = [];
    // Under the run's claims lock, like appendClaims: the log has one order, and every claim is
    // decided against exactly the claims before it.
    await underLock(await this.pool.connect(), `claims:${this.runId}`, async (c) => {
      const indexed = await c.query<{ indexed_to: string }>('SELECT indexed_to FROM deepfabric_claim_index WHERE run_id = $1', [this.runId]);
      let indexedTo = Number(indexed.rows[0]?.indexed_to ?? 0);
      // Claims appended without their keys (by appendClaims) are indexed first.
      const behind = await c.query<{ id: string; claim: string }>(
        'SELECT id, claim::text AS claim FROM deepfabric_claims WHERE run_id = $1 AND id > $2 ORDER BY id',
        [this.runId, indexedTo],
      );
      await this.insertKeys(
        c,
        behind.rows.map((r) => ({ id: Number(r.id), claim: JSON.parse(r.claim) as Claim })),
      );
      const keys = claims.map(claimKeys);
      const exact = settings.exact ? keys.map((k) => k.exact) : [];
      const bands = settings.near !== undefined ? keys.flatMap((k) => k.bands) : [];
      const earlier = await c.query<{ claim: string }>(
        `SELECT c.claim::text AS claim FROM deepfabric_claims c WHERE c.id IN (
           SELECT k.id FROM deepfabric_claim_keys k
           WHERE k.run_id = $1 AND ((k.kind = 0 AND k.key = ANY($2::bigint[])) OR (k.kind = 1 AND k.key = ANY($3::bigint[]))))
         ORDER BY c.id`,
        [this.runId, exact, bands],
      );
      const added = await c.query<{ id: string; n: string }>(
        "INSERT INTO deepfabric_claims (run_id, claim) SELECT $1, t.c FROM json_array_elements($2::json) WITH ORDINALITY AS t(c, n) ORDER BY t.n RETURNING id, (claim->>'slot') AS n",
        [this.runId, JSON.stringify(claims)],
      );
      const idOfSlot = new Map(added.rows.map((r) => [Number(r.n), Number(r.id)]));
      await this.insertKeys(
        c,
        claims.map((claim) => ({ id: idOfSlot.get(claim.slot)!, claim })),
      );
      indexedTo = Math.max(indexedTo, ...added.rows.map((r) => Number(r.id)), ...behind.rows.map((r) => Number(r.id)));
      await c.query(
        'INSERT INTO deepfabric_claim_index (run_id, indexed_to) VALUES ($1, $2) ON CONFLICT (run_id) DO UPDATE SET indexed_to = EXCLUDED.indexed_to',
        [this.runId, indexedTo],
      );
      verdicts = verdictsAfter(
        earlier.rows.map((r) => JSON.parse(r.claim) as Claim),
        claims,
        settings,
      );
    });
    return verdicts;
  }
  /** The index keys of claims already in the log (one row per exact key and per LSH band). */
  private async insertKeys(c: PoolClient, claims: { id: number; claim: Claim }[]): Promise<void> {
    if (!claims.length) return;
    const kinds: number[] = [];
    const keys: number[] = [];
    const ids: number[] = [];
    for (const { id, claim } of claims) {
      const k = claimKeys(claim);
      kinds.push(0);
      keys.push(k.exact);
      ids.push(id);
      for (const b of k.bands) {
        kinds.push(1);
        keys.push(b);
        ids.push(id);
      }
    }
    await c.query('INSERT INTO deepfabric_claim_keys (run_id, kind, key, id) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bigint[])', [
      this.runId,
      kinds,
      keys,
      ids,
    ]);
  }
  async readClaims(from: number): Promise<{ claims: Claim[]; next: number }> {
    const r = await this.pool.query<{ id: string; claim: string }>(
      'SELECT id, claim::text AS claim FROM deepfabric_claims WHERE run_id = $1 AND id > $2 ORDER BY id',
      [this.runId, from],
    );
    return { claims: r.rows.map((x) => JSON.parse(x.claim) as Claim), next: r.rows.length ? Number(r.rows[r.rows.length - 1]!.id) : from };
  }
  async layout(proposed: RunLayout): Promise<RunLayout> {
    await this.pool.query('INSERT INTO deepfabric_layouts (run_id, layout) VALUES ($1, $2) ON CONFLICT DO NOTHING', [this.runId, JSON.stringify(proposed)]);
    const r = await this.pool.query<{ layout: string }>('SELECT layout::text AS layout FROM deepfabric_layouts WHERE run_id = $1', [this.runId]);
    return JSON.parse(r.rows[0]!.layout) as RunLayout;
  }
  async writeTopics(topics: StoredTopics): Promise<void> {
    // Paths alone are stored as a list (as before ids existed); with ids, as { paths, ids }.
    await this.pool.query('INSERT INTO deepfabric_topics (run_id, paths) VALUES ($1, $2) ON CONFLICT (run_id) DO UPDATE SET paths = EXCLUDED.paths', [
      this.runId,
      JSON.stringify(topics.ids ? topics : topics.paths),
    ]);
  }
  async readTopics(): Promise<StoredTopics> {
    const r = await this.pool.query<{ paths: string }>('SELECT paths::text AS paths FROM deepfabric_topics WHERE run_id = $1', [this.runId]);
    if (!r.rows[0]) throw new DataSetGeneratorError(`${this.location}: the run's topics are not in the store`, 'store_error');
    const stored = JSON.parse(r.rows[0].paths) as string[][] | StoredTopics;
    return Array.isArray(stored) ? { paths: stored } : stored;
  }
  async assemble(numSteps: number, onShard: (batch: number) => void): Promise<{ records: number; shards: number }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM deepfabric_dataset WHERE run_id = $1', [this.runId]);
      const inserted = await client.query(
        `INSERT INTO deepfabric_dataset (run_id, n, record)
         SELECT $1, n, value FROM (
           SELECT row_number() OVER (ORDER BY s.batch, e.ord) AS n, e.value
           FROM deepfabric_shards s, json_array_elements(s.records) WITH ORDINALITY AS e(value, ord)
           WHERE s.run_id = $1
         ) numbered WHERE n <= $2`,
        [this.runId, numSteps],
      );
      const shards = await client.query<{ n: string }>('SELECT count(*) AS n FROM deepfabric_shards WHERE run_id = $1', [this.runId]);
      await client.query('COMMIT');
      onShard(Number(shards.rows[0]!.n));
      return { records: inserted.rowCount ?? 0, shards: Number(shards.rows[0]!.n) };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  async writeManifest(manifest: Record<string, unknown>): Promise<void> {
    await this.pool.query(
      'INSERT INTO deepfabric_manifests (run_id, manifest) VALUES ($1, $2) ON CONFLICT (run_id) DO UPDATE SET manifest = EXCLUDED.manifest',
      [this.runId, JSON.stringify(manifest)],
    );
  }
  async readManifest(): Promise<Record<string, unknown> | undefined> {
    const r = await this.pool.query<{ manifest: string }>('SELECT manifest::text AS manifest FROM deepfabric_manifests WHERE run_id = $1', [this.runId]);
    return r.rows[0] ? (JSON.parse(r.rows[0].manifest) as Record<string, unknown>) : undefined;
  }
  async exportDataset(file: string): Promise<number | undefined> {
    const manifest = await this.pool.query<{ manifest: string }>('SELECT manifest::text AS manifest FROM deepfabric_manifests WHERE run_id = $1', [this.runId]);
    if (!manifest.rows[0]) return undefined;
    const r = await this.pool.query<{ record: string }>('SELECT record::text AS record FROM deepfabric_dataset WHERE run_id = $1 ORDER BY n', [this.runId]);
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFileAtomic(file, r.rows.map((x) => x.record + '\n').join(''));
    await writeFileAtomic(path.join(path.dirname(path.resolve(file)), 'manifest.json'), JSON.stringify(JSON.parse(manifest.rows[0].manifest), null, 2) + '\n');
    return r.rows.length;
  }
}
