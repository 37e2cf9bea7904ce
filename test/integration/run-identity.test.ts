/**
 * One dataset is one run (issue 9): editing operational settings and starting again attaches to the
 * same run; a larger num_samples extends a finished run, paying only for the missing examples; a
 * different dataset under a running name is refused unless it replaces that run.
 */
import { promises as fs } from 'node:fs';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { ConfigurationError } from '../../src/errors';
import { RunStore } from '../../src/storage/run-store';
import { topicPaths, workerEnv } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

const env = useIntegrationEnv('identity');
const readLines = async (file: string) => (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);

it('interrupted at ~30%, concurrency and max_retries edited, started again: the same run, exact, nothing paid twice', async () => {
  env.llm.configure({ latencyMs: 150 });
  const taskQueue = uniqueTaskQueue('edit');
  const dataDir = tempDataDir();
  const make = (concurrency: number, maxRetries: number) =>
    new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency,
      maxRetries,
      heartbeatTimeout: 2,
      temporal: { client: env.client, taskQueue },
    });
  const args = { numSteps: 60, batchSize: 2, topics: topicPaths(60), runName: 'edited' };

  const workerVars = { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir };
  let worker = await spawnWorkerProcess(taskQueue, workerVars);
  try {
    const first = await make(4, 3).startData(args);
    const store = new RunStore(first.runDir!);
    await waitFor(async () => (await store.shardIndices()).length >= 9, 60_000, 20);
    worker.kill('SIGKILL'); // the machine running the run dies
    await new Promise((r) => worker.once('exit', r));
    const callsAtKill = env.llm.calls.length;

    worker = await spawnWorkerProcess(taskQueue, workerVars);
    const again = await make(2, 5).startData(args);
    expect(again.runId).toBe(first.runId);
    const result = await again.result();

    const lines = await readLines(result.datasetPath);
    expect(lines).toHaveLength(60);
    expect(new Set(lines).size).toBe(60);
    // 30 planned calls, plus at most the 4 that were in flight when the worker died.
    expect(env.llm.calls.length).toBeLessThanOrEqual(30 + 4);
    expect(callsAtKill).toBeLessThan(30);
    expect(result.stats.concurrency).toBe(2); // the edited setting reached the running run
    const executions = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${first.runId}"` })) executions.push(wf.runId);
    expect(executions).toHaveLength(1);
  } finally {
    worker.kill('SIGKILL');
  }
});

const generator = (extra: Record<string, unknown> = {}, dataDir = env.dataDir) =>
  new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir,
    concurrency: 2,
    ...extra,
    temporal: { client: env.client, taskQueue: env.taskQueue, workerInProcess: true },
  });

it('num_samples 40 -> 60 on a finished run: calls for the 20 new examples only; the first 40 records are the earlier ones', async () => {
  const dataDir = env.dataDir;
  const args = { batchSize: 5, topics: topicPaths(100), runName: 'extend' };
  const first = await generator({}, dataDir).startData({ ...args, numSteps: 40 });
  const r40 = await first.result();
  expect(env.llm.calls).toHaveLength(8);
  const before = await readLines(r40.datasetPath);

  const second = await generator({ concurrency: 3 }, dataDir).startData({ ...args, numSteps: 60 });
  expect(second.runId).toBe(first.runId);
  const r60 = await second.result();
  expect(env.llm.calls).toHaveLength(8 + 4);
  const after = await readLines(r60.datasetPath);
  expect(after).toHaveLength(60);
  expect(after.slice(0, 40)).toEqual(before);

  // The same dataset once more: attached to the finished run, nothing paid.
  const third = await generator({}, dataDir).startData({ ...args, numSteps: 60 });
  expect((await third.result()).records).toBe(60);
  expect(env.llm.calls).toHaveLength(12);
});

it('a different dataset under the name of a running run is refused, naming it; replace stops it and keeps its data', async () => {
  env.llm.configure({ latencyMs: 200 });
  const dataDir = env.dataDir;
  const args = { numSteps: 40, batchSize: 2, topics: topicPaths(40), runName: 'contested' };
  const running = await generator({ instructions: 'Questions about lists', concurrency: 1 }, dataDir).startData(args);
  await waitFor(async () => (await running.stats()).batchesDone >= 1);

  const other = generator({ instructions: 'Questions about dicts' }, dataDir);
  const refused = await other.startData(args).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ConfigurationError);
  expect((refused as Error).message).toContain(`run ${running.runId} of "contested" is still running`);
  expect((refused as Error).message).toMatch(/--replace/);

  const replacing = await other.startData({ ...args, replace: true });
  expect(replacing.runId).not.toBe(running.runId);
  const stopped = await running.result();
  expect(stopped.status).toBe('stopped');
  expect(stopped.records).toBeGreaterThan(0);
  expect((await readLines(stopped.datasetPath)).length).toBe(stopped.records);
  expect((await replacing.result()).records).toBe(40);
});
