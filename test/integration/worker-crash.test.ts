import { useIntegrationEnv } from '../support/integration-env';
import { promises as fs } from 'node:fs';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { RunStore } from '../../src/storage/run-store';
import { topicPaths, workerEnv } from '../support/fixtures';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

const env = useIntegrationEnv('crash', { worker: false });

it('finishes with exactly 100 records after the worker is SIGKILLed mid-run, paying no batch twice once its shard existed', async () => {
  env.llm.configure({ latencyMs: 300 });
  const taskQueue = uniqueTaskQueue('crash');
  const dataDir = tempDataDir();
  const vars = { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir };
  let worker = await spawnWorkerProcess(taskQueue, vars);
  try {
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 4,
      heartbeatTimeout: 2,
      temporal: { client: env.client, taskQueue },
    });
    const run = await gen.startData({ numSteps: 100, batchSize: 5, topics: topicPaths(), runName: 'crash' });
    const store = new RunStore(run.runDir!);
    await waitFor(async () => (await store.shardIndices()).length >= 6, 60_000, 20);

    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    const shardsAtKill = new Set(await store.shardIndices());
    const callsAtKill = env.llm.calls.length;
    expect(shardsAtKill.size).toBeGreaterThanOrEqual(6);
    expect(shardsAtKill.size).toBeLessThan(20);

    worker = await spawnWorkerProcess(taskQueue, vars);
    const result = await run.result();

    const lines = (await fs.readFile(result.datasetPath, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(100);
    expect(new Set(lines).size).toBe(100);
    const after = env.llm.calls.slice(callsAtKill);
    const batchOf = (header: string | undefined) => Number(header?.split('/').pop());
    // No call after the restart for a batch whose shard was already on disk.
    expect(after.filter((c) => shardsAtKill.has(batchOf(c.batch)))).toEqual([]);
    // Every batch answered at most twice: once before the kill (if it was in flight) and once after.
    const perBatch = new Map<number, number>();
    for (const c of env.llm.calls) if (c.outcome === 'ok') perBatch.set(batchOf(c.batch), (perBatch.get(batchOf(c.batch)) ?? 0) + 1);
    expect(perBatch.size).toBe(20);
    expect(Math.max(...perBatch.values())).toBeLessThanOrEqual(2);
    // At most the batches in flight at the kill (concurrency 4) were paid twice.
    expect([...perBatch.values()].filter((n) => n === 2).length).toBeLessThanOrEqual(4);
    expect(result.stats.accepted).toBe(100);
  } finally {
    worker.kill('SIGKILL');
  }
});
