import { useIntegrationEnv } from '../support/integration-env';
import { promises as fs } from 'node:fs';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { RunFailedError } from '../../src/errors';
import { topicPaths } from '../support/fixtures';
import { waitFor } from '../support/temporal';

const env = useIntegrationEnv('control');

const make = (extra: Record<string, unknown> = {}) =>
  new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    ...extra,
    temporal: { client: env.client, taskQueue: env.taskQueue, searchAttributes: true },
  });

const lines = async (file: string) => (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('pause stops new calls once in-flight ones end; resume finishes with the exact count', async () => {
  env.llm.configure({ latencyMs: 300 });
  const run = await make({ concurrency: 2 }).startData({ numSteps: 40, batchSize: 2, topics: topicPaths(40), runName: 'pause' });
  await waitFor(async () => (await run.stats()).accepted >= 4, 30_000, 50);
  await run.pause();
  const paused = await waitFor(
    async () => {
      const s = await run.stats();
      return s.paused && s.batchesInFlight === 0 ? s : undefined;
    },
    30_000,
    50,
  );
  expect(paused.status).toBe('paused');
  const callsAtPause = env.llm.calls.length;
  await sleep(2500);
  expect(env.llm.calls.length).toBe(callsAtPause);
  expect((await run.stats()).accepted).toBe(paused.accepted);
  await run.resume();
  const result = await run.result();
  expect(env.llm.calls.length).toBeGreaterThan(callsAtPause);
  expect(await lines(result.datasetPath)).toHaveLength(40);
  expect(result.status).toBe('completed');
});

it('setConcurrency changes the bound of a live run and returns the new value', async () => {
  env.llm.configure({ latencyMs: 200 });
  const run = await make({ concurrency: 1 }).startData({ numSteps: 40, batchSize: 2, topics: topicPaths(40), runName: 'conc' });
  await waitFor(async () => (await run.stats()).accepted >= 2, 30_000, 50);
  expect(env.llm.maxConcurrent).toBe(1);
  expect(await run.setConcurrency(6)).toBe(6);
  await expect(run.setConcurrency(0)).rejects.toThrow(/concurrency must be an integer from 1/);
  const result = await run.result();
  expect(result.records).toBe(40);
  expect(env.llm.maxConcurrent).toBeGreaterThan(1);
  expect(env.llm.maxConcurrent).toBeLessThanOrEqual(6);
  expect(result.stats.concurrency).toBe(6);
});

it('cancel mid-run ends cancelled with a partial dataset holding exactly the accepted examples', async () => {
  env.llm.configure({ latencyMs: 300 });
  const run = await make({ concurrency: 2 }).startData({ numSteps: 60, batchSize: 2, topics: topicPaths(60), runName: 'cancel' });
  await waitFor(async () => (await run.stats()).accepted >= 6, 30_000, 50);
  await run.cancel();
  const err = await run.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RunFailedError);
  expect((err as RunFailedError).code).toBe('cancelled');
  expect((await run.handle.describe()).status.name).toBe('CANCELLED');
  const manifest = JSON.parse(await fs.readFile(`${run.runDir}/manifest.json`, 'utf8'));
  expect(manifest.partial).toBe(true);
  expect(manifest.status).toBe('cancelled');
  const records = await lines(`${run.runDir}/dataset.jsonl`);
  expect(records.length).toBe(manifest.records);
  expect(records.length).toBe(manifest.stats.accepted);
  expect(records.length).toBeGreaterThanOrEqual(6);
  expect(records.length).toBeLessThan(60);
});

it('stop lets in-flight batches finish and completes with a partial dataset', async () => {
  env.llm.configure({ latencyMs: 300 });
  const run = await make({ concurrency: 3 }).startData({ numSteps: 60, batchSize: 2, topics: topicPaths(60), runName: 'stop' });
  await waitFor(async () => (await run.stats()).accepted >= 6, 30_000, 50);
  await run.stop();
  const result = await run.result();
  // A stop is not a cancellation: Temporal says COMPLETED, and the result, manifest and memo say stopped.
  expect(result.status).toBe('stopped');
  const manifest = JSON.parse(await fs.readFile(result.manifestPath, 'utf8'));
  expect(manifest.status).toBe('stopped');
  const described = await run.handle.describe();
  expect(described.status.name).toBe('COMPLETED');
  expect((described.memo as { progress: { status: string } }).progress.status).toBe('stopped');
  expect(env.llm.calls.every((c) => c.endedAt !== undefined && c.outcome === 'ok')).toBe(true);
  expect(result.records).toBe(env.llm.calls.length * 2);
  expect((await lines(result.datasetPath)).length).toBe(result.records);
});

it('crosses a small continue-as-new threshold several times with exact counts and a working query', async () => {
  env.llm.configure({ latencyMs: 100 });
  const run = await make({ concurrency: 2, batchesPerRun: 3 }).startData({ numSteps: 30, batchSize: 2, topics: topicPaths(30), runName: 'can' });
  const early = await waitFor(
    async () => {
      const s = await run.stats().catch(() => undefined);
      return s && s.segments >= 2 ? s : undefined;
    },
    30_000,
    50,
  );
  expect(early.accepted).toBeGreaterThan(0);
  const result = await run.result();
  expect(await lines(result.datasetPath)).toHaveLength(30);
  expect(new Set(await lines(result.datasetPath)).size).toBe(30);
  expect(result.stats.batchesDone).toBe(15);
  expect(result.stats.accepted).toBe(30);
  expect(result.stats.segments).toBeGreaterThanOrEqual(5);
  expect(env.llm.calls.length).toBe(15);
  const after = await run.stats();
  expect(after.accepted).toBe(30);
  let runs = 0;
  let maxEvents = 0;
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${run.runId}'` })) {
    runs++;
    const h = await env.client.workflow.getHandle(run.runId, wf.runId).fetchHistory();
    maxEvents = Math.max(maxEvents, h.events!.length);
  }
  expect(runs).toBe(result.stats.segments);
  expect(maxEvents).toBeLessThan(60);
});

it('is found by a search on its attributes, and its memo shows progress', async () => {
  const name = `searchable-${Date.now()}`;
  // No searchAttributes option: the env.client finds them registered on the namespace and uses them.
  const gen = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir: env.dataDir, temporal: { client: env.client, taskQueue: env.taskQueue } });
  const run = await gen.startData({ numSteps: 10, batchSize: 5, topics: topicPaths(10), runName: name });
  await run.result();
  const found = await waitFor(
    async () => {
      const out = [];
      for await (const wf of env.client.workflow.list({ query: `DatasetName = '${name}' AND DatasetModel = 'openai/gpt-4o-mini' AND DatasetAccepted = 10` }))
        out.push(wf);
      return out.length ? out : undefined;
    },
    20_000,
    250,
  );
  expect(found[0]!.workflowId).toBe(run.runId);
  const memo = found[0]!.memo as { model: string; target: number; progress: { accepted: number; target: number; status: string } };
  expect(memo.model).toBe('openai/gpt-4o-mini');
  expect(memo.progress).toMatchObject({ accepted: 10, target: 10, status: 'completed' });
});
