/**
 * A batch is several model calls at once (issue 10): each finished call is checkpointed, so a
 * retry of the batch, or its resumption on another worker after a kill -9, pays only for the calls
 * that had not finished.
 */
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { FsStore } from '../../src/storage/fs-store';
import { topicPaths, workerEnv } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

const env = useIntegrationEnv('calls');

const callsPerIndex = () => {
  const m = new Map<number, string[]>();
  for (const c of env.llm.calls) m.set(c.call ?? -1, [...(m.get(c.call ?? -1) ?? []), c.outcome]);
  return m;
};

it('a batch of 8 calls in which 3 fail once with 500: the retry makes exactly 3 more calls', async () => {
  env.llm.configure({ script: ['500', '500', '500'], latencyMs: 20 });
  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    concurrency: 8,
    callsPerBatch: 8,
    initialBackoffSeconds: 0.1,
    temporal: { client: env.client, taskQueue: env.taskQueue, workerInProcess: true },
  });
  const run = await gen.startData({ numSteps: 8, batchSize: 1, topics: topicPaths(8), runName: 'eight-calls' });
  const result = await run.result();
  expect(result.records).toBe(8);
  expect(env.llm.calls).toHaveLength(8 + 3);
  expect(new Set(env.llm.calls.map((c) => c.batch))).toEqual(new Set([`${run.runId}/0`])); // one batch activity
  const failedCalls = [...callsPerIndex()].filter(([, outcomes]) => outcomes[0] === '500').map(([i]) => i);
  expect(failedCalls).toHaveLength(3);
  for (const [i, outcomes] of callsPerIndex()) expect({ i, outcomes }).toEqual({ i, outcomes: failedCalls.includes(i) ? ['500', 'ok'] : ['ok'] });
  expect(result.stats).toMatchObject({ batchesDone: 1, calls: 11, callsOk: 8, retries: 1 });
  expect(result.stats.errorCategories).toEqual({ server_error: 3 });
});

it('kill -9 of the worker in the middle of a batch: calls that had finished are not repeated', async () => {
  // Calls 0-3 answer at once, 4-7 take long enough for the kill to land while they are in flight.
  env.llm.configure({ latencyFor: (c) => ((c.call ?? 0) < 4 ? 10 : 4000) });
  const taskQueue = uniqueTaskQueue('calls-kill');
  const dataDir = tempDataDir();
  const vars = { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir };
  let worker = await spawnWorkerProcess(taskQueue, vars);
  try {
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 8,
      callsPerBatch: 8,
      heartbeatTimeout: 2,
      temporal: { client: env.client, taskQueue },
    });
    const run = await gen.startData({ numSteps: 8, batchSize: 1, topics: topicPaths(8), runName: 'kill-mid-batch' });
    const calls = new FsStore(dataDir).run(run.runId);
    await waitFor(async () => (await Promise.all([0, 1, 2, 3].map((i) => calls.readCall(0, i)))).every(Boolean), 60_000, 20);
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    env.llm.configure({ latencyFor: () => 10 });
    worker = await spawnWorkerProcess(taskQueue, vars);
    const result = await run.result();
    expect(result.records).toBe(8);
    const per = callsPerIndex();
    for (const i of [0, 1, 2, 3]) expect({ i, calls: per.get(i)?.length }).toEqual({ i, calls: 1 });
    for (const i of [4, 5, 6, 7]) expect({ i, calls: per.get(i)?.length }).toEqual({ i, calls: 2 }); // in flight at the kill, then once more
  } finally {
    worker.kill('SIGKILL');
  }
});
