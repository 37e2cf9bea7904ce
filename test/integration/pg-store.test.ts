import { baseInterval } from '../../src/llm/pacing';
/**
 * Storage that needs no shared disk (issue 9): workers with separate folders and one PostgreSQL
 * store; the same workers with folder stores are refused at the first batch, not at the end.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { RunFailedError } from '../../src/errors';
import { PgStore } from '../../src/storage/pg-store';
import { FsStore } from '../../src/storage/fs-store';
import { claimFor, DedupIndex, type Verdict } from '../../src/dataset/dedup';
import { topicPaths, workerEnv } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

const env = useIntegrationEnv('pg', { worker: false });
let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.stop());

const readLines = async (file: string) => (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);

describe('PgStore', () => {
  it('keeps the first write of a batch, assembles in batch order up to the target, exports with the manifest', async () => {
    const store = await PgStore.connect(pg.url);
    const again = await PgStore.connect(pg.url);
    try {
      expect(await again.id()).toBe(await store.id());
      const run = store.run(`unit-${Date.now()}`);
      await run.writeShard(1, { summary: { n: 1 }, records: [{ b: 2, a: 1 }, { i: 'second' }] });
      await run.writeShard(0, { summary: { n: 0 }, records: [{ i: 'first' }] });
      await run.writeShard(1, { summary: { n: 99 }, records: [{ i: 'retry must not replace' }] });
      expect(await run.shardIndices()).toEqual([0, 1]);
      expect((await run.readShard(1)).summary).toEqual({ n: 1 });
      expect(await run.assemble(2, () => undefined)).toEqual({ records: 2, shards: 2 });
      await run.writeManifest({ records: 2 });
      const dir = tempDataDir('pg-export-');
      expect(await run.exportDataset(path.join(dir, 'dataset.jsonl'))).toBe(2);
      // Key order and text as generated (json, not jsonb).
      expect(await readLines(path.join(dir, 'dataset.jsonl'))).toEqual(['{"i":"first"}', '{"b":2,"a":1}']);
      expect(JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'))).toEqual({ records: 2 });
      await run.appendError(3, { category: 'timeout' });
      expect(await run.readErrors(3)).toEqual([{ category: 'timeout' }]);
      // A finished call's checkpoint keeps its first write; an agent call's progress is replaced at every step.
      await run.writeCall(2, 0, { first: true });
      await run.writeCall(2, 0, { first: false });
      expect(await run.readCall(2, 0)).toEqual({ first: true });
      await run.writeCall(2, 1000, { step: 1 }, { replace: true });
      await run.writeCall(2, 1000, { step: 2 }, { replace: true });
      expect(await run.readCall(2, 1000)).toEqual({ step: 2 });
    } finally {
      await store.close();
      await again.close();
    }
  });
});

it('claims logs (dedup) in PostgreSQL and in a folder: concurrent appends land whole, in one order, read on from where a reader stopped', async () => {
  const store = await PgStore.connect(pg.url);
  try {
    for (const run of [store.run(`claims-${Date.now()}`), new FsStore(tempDataDir('claims-')).run('claims')]) {
      const claim = (attempt: string, slot: number) => ({ attempt, batch: Number(attempt.slice(1)), slot, exact: `${attempt}-${slot}` });
      await Promise.all(Array.from({ length: 8 }, (_, a) => run.appendClaims([0, 1, 2].map((slot) => claim(`a${a}`, slot)))));
      const first = await run.readClaims(0);
      expect(first.claims).toHaveLength(24);
      // Each append is contiguous and in slot order: no interleaving of two writers.
      for (let i = 0; i < 24; i += 3)
        expect(first.claims.slice(i, i + 3).map((c) => [c.attempt, c.slot])).toEqual([0, 1, 2].map((slot) => [first.claims[i]!.attempt, slot]));
      await run.appendClaims([claim('a9', 0)]);
      const more = await run.readClaims(first.next);
      expect(more.claims).toEqual([claim('a9', 0)]);
      expect(await run.readClaims(more.next)).toEqual({ claims: [], next: more.next });
    }
  } finally {
    await store.close();
  }
});

it('the dedup index kept in PostgreSQL (claimAndCheck) gives the verdicts of an index of the whole log, concurrent batches and retried attempts included', async () => {
  const store = await PgStore.connect(pg.url);
  try {
    const run = store.run(`index-${Date.now()}`);
    const settings = { exact: true, near: 0.7 };
    // 40 batches of 5 texts over 60 base texts: exact repeats, near repeats (one word changed), fresh ones.
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon'.split(' ');
    const base = Array.from({ length: 60 }, () => Array.from({ length: 14 }, () => words[Math.floor(rand() * words.length)]!).join(' '));
    const text = () => {
      const t = base[Math.floor(rand() * base.length)]!;
      const roll = rand();
      if (roll < 0.3) return t;
      if (roll < 0.6) return t.replace(/\S+$/, 'changed');
      return `${t} ${Math.floor(rand() * 1e9)} fresh ${Math.floor(rand() * 1e9)}`;
    };
    const batches = Array.from({ length: 40 }, (_, b) => ({ b, texts: Array.from({ length: 5 }, text) }));
    // Batch 7 is retried: its second attempt claims again (its first attempt's claims are its own).
    const attempts = [...batches.map((x) => ({ ...x, attempt: `${x.b}.1` })), { ...batches[7]!, attempt: '7.2' }];
    const results = new Map<string, Verdict[]>();
    // Eight batches at a time, as concurrent slices do: the lock gives the log one order.
    for (let i = 0; i < attempts.length; i += 8)
      await Promise.all(
        attempts.slice(i, i + 8).map(async (a) => {
          const claims = a.texts.map((t, slot) => claimFor(t, { attempt: a.attempt, batch: a.b, slot }, settings));
          results.set(a.attempt, await run.claimAndCheck!(claims, settings));
        }),
      );
    // The whole log, in the order the store gave it, through one in-memory index: the same verdicts.
    const { claims: log } = await run.readClaims(0);
    expect(log).toHaveLength(attempts.length * 5);
    const index = new DedupIndex();
    const expected = new Map<string, Verdict[]>();
    for (const c of log) {
      const v = index.check(index.add(c), settings);
      expected.set(c.attempt, [...(expected.get(c.attempt) ?? []), v]);
    }
    expect(Object.fromEntries(results)).toEqual(Object.fromEntries(expected));
    // And the corpus exercised every verdict.
    const all = [...results.values()].flat();
    expect(new Set(all.map((v) => (v.duplicate ? v.reason : 'kept')))).toEqual(new Set(['kept', 'duplicate', 'near-duplicate']));
  } finally {
    await store.close();
  }
});

it("topics by reference in PostgreSQL and in a folder: paths alone, or with a graph's node ids beside them", async () => {
  const store = await PgStore.connect(pg.url);
  try {
    for (const [run, tag] of [
      [store.run(`topics-${Date.now()}`), 'pg'],
      [new FsStore(tempDataDir('topics-')).run('topics'), 'fs'],
    ] as const) {
      await run.writeTopics({
        paths: [
          ['R', 'a'],
          ['R', 'b'],
        ],
      });
      expect({ tag, topics: await run.readTopics() }).toEqual({
        tag,
        topics: {
          paths: [
            ['R', 'a'],
            ['R', 'b'],
          ],
        },
      });
      await run.writeTopics({
        paths: [
          ['R', 'a'],
          ['R', 'a', 'ü'],
        ],
        ids: ['u1', 'u2'],
      });
      expect({ tag, topics: await run.readTopics() }).toEqual({
        tag,
        topics: {
          paths: [
            ['R', 'a'],
            ['R', 'a', 'ü'],
          ],
          ids: ['u1', 'u2'],
        },
      });
    }
  } finally {
    await store.close();
  }
});

it('pacing in PostgreSQL: two connections reserving at once get slots spaced at the limit, on the database clock', async () => {
  const [a, b] = [await PgStore.connect(pg.url), await PgStore.connect(pg.url)];
  try {
    const key = `pace-${Date.now()}`;
    const slots = await Promise.all([a, b].flatMap((s) => Array.from({ length: 5 }, () => s.reserveSlot(key, { requestsPerMinute: 600 }))));
    // Ten reservations made together get ten slots exactly one interval (60 s / 599) apart on the database's
    // clock, however long each query took (a slot is computed under the row's lock: the load cannot show).
    const interval = baseInterval({ requestsPerMinute: 600 });
    const starts = slots.map((x) => x.startAt).sort((x, y) => x - y);
    expect(starts.slice(1).map((t, i) => Math.round((t - starts[i]! - interval) * 1000))).toEqual(Array(9).fill(0));
    // The first slot starts when it was reserved (no wait), and no slot precedes its reservation.
    expect(Math.min(...slots.map((x) => x.startAt - x.now))).toBeGreaterThanOrEqual(-1e-6);
  } finally {
    await a.close();
    await b.close();
  }
});

it('two workers with separate folders and the PostgreSQL store: exact after one is killed; a client in a third folder gets the dataset', async () => {
  env.llm.configure({ latencyMs: 150 });
  const taskQueue = uniqueTaskQueue('pg');
  const worker = (dir: string) => spawnWorkerProcess(taskQueue, { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dir, DEEPFABRIC_STORE: pg.url });
  const a = await worker(tempDataDir('worker-a-'));
  let b = await worker(tempDataDir('worker-b-'));
  try {
    const client = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir: tempDataDir('client-'),
      store: pg.url,
      concurrency: 6,
      heartbeatTimeout: 2,
      temporal: { client: env.client, taskQueue },
    });
    const run = await client.startData({ numSteps: 80, batchSize: 2, topics: topicPaths(80), runName: 'no-shared-disk' });
    const probe = await PgStore.connect(pg.url);
    await waitFor(async () => (await probe.run(run.runId).shardIndices()).length >= 8, 60_000, 20);
    await probe.close();
    b.kill('SIGKILL');
    await new Promise((r) => b.once('exit', r));
    b = await worker(tempDataDir('worker-b2-'));
    const result = await run.result();
    expect(result.datasetPath.startsWith(run.runDir!)).toBe(true); // the client's own folder
    const lines = await readLines(result.datasetPath);
    expect(lines).toHaveLength(80);
    expect(new Set(lines).size).toBe(80);
    expect(JSON.parse(await fs.readFile(result.manifestPath, 'utf8'))).toMatchObject({ records: 80, partial: false });
    await client.close();
  } finally {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  }
});

it('a topic build on workers with folders of their own and the PostgreSQL store: the client in a third folder gets the tree', async () => {
  const taskQueue = uniqueTaskQueue('pg-topics');
  const workerDir = tempDataDir('topics-worker-');
  const w = await spawnWorkerProcess(taskQueue, { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: workerDir, DEEPFABRIC_STORE: pg.url });
  try {
    const clientDir = tempDataDir('topics-client-');
    const client = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir: clientDir, store: pg.url, temporal: { client: env.client, taskQueue } });
    const tree = await client.buildTopics({ rootPrompt: `No shared disk ${Date.now()}`, depth: 2, degree: 2 });
    expect(tree.getAllPaths()).toHaveLength(4);
    // Nothing of the build on the worker's disk: nodes and files are rows; the client wrote its own copy.
    expect(await fs.readdir(path.join(workerDir, 'topics')).catch(() => [])).toEqual([]);
    const [buildDir] = await fs.readdir(path.join(clientDir, 'topics'));
    expect((await readLines(path.join(clientDir, 'topics', buildDir!, 'topics.jsonl'))).map((l) => JSON.parse(l).path)).toEqual(tree.getAllPaths());
    // The workers wrote it into PostgreSQL, where any client finds it by build id.
    const probe = await PgStore.connect(pg.url);
    expect(await probe.topicBuild(buildDir!).readFile('topics.jsonl')).toBe(
      await fs.readFile(path.join(clientDir, 'topics', buildDir!, 'topics.jsonl'), 'utf8'),
    );
    await probe.close();
    await client.close();
  } finally {
    w.kill('SIGKILL');
  }
});

it('the same workers with folder stores of their own: refused at the first batch, naming the fix', async () => {
  const taskQueue = uniqueTaskQueue('split-disk');
  const w = await spawnWorkerProcess(taskQueue, { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: tempDataDir('own-a-') });
  try {
    const client = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir: tempDataDir('client-'), temporal: { client: env.client, taskQueue } });
    const started = Date.now();
    const err = await client.createData({ numSteps: 20, batchSize: 2, topics: topicPaths(20), runName: 'split' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as Error).message).toMatch(/not this worker's .*DEEPFABRIC_DATA_DIR on a shared volume.*DEEPFABRIC_STORE=postgres/);
    expect(env.llm.calls).toHaveLength(0); // nothing paid
    console.log(`split disks refused after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    w.kill('SIGKILL');
  }
});
