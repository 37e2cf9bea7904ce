import { useIntegrationEnv } from '../support/integration-env';
import { Worker } from '@temporalio/worker';
import { promises as fs } from 'node:fs';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { RecordSchemas } from '../../src/dataset/example-schemas';
import { ModelError } from '../../src/errors';
import { workflowBundle } from '../../src/worker/worker';
import { SECRET_KEY, topicPaths, workerEnv } from '../support/fixtures';
import { startWorker, tempDataDir, uniqueTaskQueue, waitFor, type RunningWorker } from '../support/temporal';

const env = useIntegrationEnv('run', { worker: false });

async function readJsonl(file: string): Promise<Record<string, unknown>[]> {
  return (await fs.readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Each test's worker and its generators share one store (data folder). */
const dataDirOf = new Map<string, string>();

async function withWorker<T>(fn: (taskQueue: string, w: RunningWorker) => Promise<T>, vars = workerEnv(env.llm)): Promise<T> {
  const taskQueue = uniqueTaskQueue('run');
  const dataDir = tempDataDir();
  dataDirOf.set(taskQueue, dataDir);
  const w = await startWorker(taskQueue, vars, dataDir);
  try {
    return await fn(taskQueue, w);
  } finally {
    await w.stop();
  }
}

function generator(taskQueue: string, model: string, extra: Record<string, unknown> = {}): DataSetGenerator {
  return new DataSetGenerator({
    instructions: 'Write short Q&A pairs.',
    generationSystemPrompt: 'You are a careful teacher.',
    modelName: model,
    dataDir: dataDirOf.get(taskQueue) ?? tempDataDir(),
    concurrency: 8,
    initialBackoffSeconds: 0.2,
    maxBackoffSeconds: 2,
    ...extra,
    temporal: { client: env.client, taskQueue },
  });
}

describe.each([
  ['OpenAI', 'openai/gpt-4o-mini'],
  ['Anthropic', 'anthropic/claude-3-5-haiku-latest'],
])('a 100-example run through the %s wire protocol', (_label, model) => {
  it('writes exactly 100 schema-valid records and answers the stats query mid-run', async () => {
    env.llm.configure({ latencyMs: 150 });
    await withWorker(async (taskQueue) => {
      const gen = generator(taskQueue, model);
      const run = await gen.startData({ numSteps: 100, batchSize: 5, topics: topicPaths(), runName: 'basic' });
      const mid = await waitFor(async () => {
        const s = await run.stats();
        return s.accepted > 0 && s.accepted < 100 ? s : undefined;
      });
      const result = await run.result();
      const records = await readJsonl(result.datasetPath);
      expect(records).toHaveLength(100);
      for (const r of records) expect(RecordSchemas.basic.safeParse(r).success).toBe(true);
      expect(records[0]!.messages).toEqual(expect.arrayContaining([{ role: 'system', content: 'You are a careful teacher.' }]));
      expect(mid.accepted).toBeGreaterThan(0);
      expect(mid.accepted).toBeLessThan(100);
      expect(mid.target).toBe(100);
      expect(result.stats.accepted).toBe(100);
      // concurrency 8 → 2 calls per batch by default: 10 batches of 2 calls of 5 examples.
      expect(result.stats.batchesDone).toBe(10);
      expect(result.stats.calls).toBe(20);
      expect(env.llm.count('ok')).toBe(20);
      expect(env.llm.calls.every((c) => c.protocol === (model.startsWith('openai') ? 'openai' : 'anthropic'))).toBe(true);
      expect(env.llm.maxConcurrent).toBeLessThanOrEqual(8);
      const manifest = JSON.parse(await fs.readFile(result.manifestPath, 'utf8'));
      expect(manifest).toMatchObject({ records: 100, partial: false, status: 'completed', stats: { status: 'completed' } }); // not 'completing' in its stats
      // 100 distinct topic paths under 4 branches, sampled in order: every topic once, a quarter each.
      expect(manifest.diversity).toMatchObject({
        examples: 100,
        topicsUsed: 100,
        branchShare: { 'Branch 0': 0.25, 'Branch 1': 0.25, 'Branch 2': 0.25, 'Branch 3': 0.25 },
      });
      expect(manifest.diversity.distinct1).toBeGreaterThan(0);
      expect(manifest.stats.outputTokens).toBeGreaterThan(0);
    });
  });
});

it('survives 20% of calls failing with 429 (retry-after) or 500, and reports them', async () => {
  env.llm.configure({ failureRates: { '429': 0.1, '500': 0.1 }, retryAfterSeconds: 1, seed: 7 });
  await withWorker(async (taskQueue) => {
    const gen = generator(taskQueue, 'openai/gpt-4o-mini', { maxRetries: 6 });
    const run = await gen.startData({ numSteps: 100, batchSize: 5, topics: topicPaths(), runName: 'flaky' });
    const result = await run.result();
    const records = await readJsonl(result.datasetPath);
    expect(records).toHaveLength(100);
    expect(env.llm.count('429') + env.llm.count('500')).toBeGreaterThan(0);
    expect(result.stats.errorCategories.rate_limit ?? 0).toBe(env.llm.count('429'));
    expect(result.stats.errorCategories.server_error ?? 0).toBe(env.llm.count('500'));
    expect(result.stats.avgRetries).toBeGreaterThan(0);
    expect(result.stats.successRate).toBeLessThan(1);
    // A 429 waits for retry-after (1 s) before the next attempt of that batch.
    const first429 = env.llm.calls.find((c) => c.outcome === '429')!;
    const retry = env.llm.calls.find((c) => c.no > first429.no && c.batch === first429.batch && c.call === first429.call)!;
    expect(retry.startedAt - first429.startedAt).toBeGreaterThanOrEqual(900);
  });
});

it('fails fast on 401, naming the provider and the refused key, without retrying', async () => {
  env.llm.configure({ acceptKey: 'some-other-key' });
  await withWorker(async (taskQueue) => {
    const gen = generator(taskQueue, 'openai/gpt-4o-mini', { maxRetries: 5, initialBackoffSeconds: 2 });
    const started = Date.now();
    const run = await gen.startData({ numSteps: 100, batchSize: 5, topics: topicPaths(), runName: 'auth' });
    const err = await run.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).category).toBe('auth_error');
    expect((err as Error).message).toMatch(/openai refused the API key/);
    expect((err as Error).message).toMatch(/OPENAI_API_KEY/);
    // Each batch tried once: no retry of a refused key (at most the first wave of 8 was in flight).
    expect(env.llm.count('401')).toBeLessThanOrEqual(8);
    expect(elapsed).toBeLessThan(15_000);
  });
});

it('keeps the API key out of workflow history, and the history replays deterministically', async () => {
  await withWorker(async (taskQueue) => {
    const gen = generator(taskQueue, 'openai/gpt-4o-mini');
    const run = await gen.startData({ numSteps: 20, batchSize: 5, topics: topicPaths(20), runName: 'secrets' });
    const result = await run.result();
    expect(await fs.readFile(result.manifestPath, 'utf8')).not.toContain(SECRET_KEY);
    const described = await env.client.workflow.getHandle(run.runId).describe();
    expect(JSON.stringify({ memo: described.memo, sa: described.searchAttributes })).not.toContain(SECRET_KEY);
    const history = await env.client.workflow.getHandle(run.runId).fetchHistory();
    const text = JSON.stringify(history);
    expect(text.length).toBeGreaterThan(1000);
    expect(text).not.toContain(SECRET_KEY);
    expect(Buffer.from(text).toString('base64')).not.toContain(Buffer.from(SECRET_KEY).toString('base64'));
    // Payloads are base64-encoded JSON in the history; decode them and search again.
    const decoded = [...text.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8')).join('\n');
    expect(decoded).toContain('gpt-4o-mini');
    expect(decoded).not.toContain(SECRET_KEY);
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, run.runId)).resolves.toBeUndefined();
  });
});

it('attaches to the existing run when the same run is started twice, paying once', async () => {
  await withWorker(async (taskQueue) => {
    const gen = generator(taskQueue, 'openai/gpt-4o-mini');
    const args = { numSteps: 20, batchSize: 5, topics: topicPaths(20), runName: 'twice' };
    const first = await gen.startData(args);
    const second = await gen.startData(args);
    expect(second.runId).toBe(first.runId);
    const [a, b] = await Promise.all([first.result(), second.result()]);
    expect(a.records).toBe(20);
    expect(b.datasetPath).toBe(a.datasetPath);
    expect(env.llm.count()).toBe(4);
    // A smaller target is the same dataset: its first 10 examples, nothing paid.
    const smaller = await gen.startData({ ...args, numSteps: 10 });
    expect(smaller.runId).toBe(first.runId);
    const r10 = await smaller.result();
    expect(r10.records).toBe(10);
    expect(env.llm.count()).toBe(4);
    expect((await fs.readFile(r10.datasetPath, 'utf8')).split('\n').filter(Boolean)).toEqual(
      (await fs.readFile(a.datasetPath, 'utf8')).split('\n').filter(Boolean).slice(0, 10),
    );
    // A setting that defines the examples (examples per call) is a different dataset, so a different run.
    const third = await gen.startData({ ...args, batchSize: 4 });
    expect(third.runId).not.toBe(first.runId);
    expect(third.runId).toMatch(/^twice-[0-9a-f]{8}$/);
  });
});
