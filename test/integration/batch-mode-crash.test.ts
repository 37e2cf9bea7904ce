/**
 * Batch mode never submits twice (issue 21): kill -9 of the worker while the provider is answering
 * its batch creation (the batch exists there, its id never reached the worker), then kill -9 of the
 * worker and a stop of the dev server while the provider batches are in progress; restarted on the
 * same SQLite file, the run finishes with exactly the planned provider batches created at the server
 * (none twice), every line collected, no duplicates and no live call.
 */
import { Client, Connection } from '@temporalio/client';
import path from 'node:path';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { Dataset } from '../../src/dataset/dataset';
import { DevServer, freePort } from '../../src/worker/dev-server';
import { LlmTestServer } from '../support/llm-server';
import { topicPaths, workerEnv } from '../support/fixtures';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

let llm: LlmTestServer;
beforeAll(async () => {
  llm = await new LlmTestServer().start();
});
afterAll(() => llm.stop());
beforeEach(() => llm.reset());

it.each(['openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku'])(
  '%s: kill -9 inside batch creation, then of the worker and the dev server mid-wait: each provider batch created once, every line collected',
  async (model) => {
    // Creation is answered 4 s after the batch exists at the provider: the worker dies in between.
    llm.batches.configure({ processingMs: 8000, createDelayMs: 4000 });
    const dir = tempDataDir('batch-crash-');
    const port = await freePort();
    const dbFile = path.join(dir, 'temporal.sqlite');
    let server = await DevServer.start({ dbFile, port, searchAttributes: {} });
    const taskQueue = uniqueTaskQueue('batch-crash');
    const env = { ...workerEnv(llm), DEEPFABRIC_DATA_DIR: dir };
    let worker = await spawnWorkerProcess(taskQueue, env, server.address);
    let connection = await Connection.connect({ address: server.address });
    const options = (client: Client) => ({
      modelName: model,
      dataDir: dir,
      heartbeatTimeout: 2,
      callMode: 'batch' as const,
      batchApi: { maxRequests: 20, pollSeconds: 1 },
      temporal: { client, taskQueue },
    });
    try {
      const gen = new DataSetGenerator({ ...options(new Client({ connection })), concurrency: 4, callsPerBatch: 2 });
      // 60 calls in chunks of 20 lines: three provider batches.
      const run = await gen.startData({ numSteps: 120, batchSize: 2, topics: topicPaths(60), runName: `batch-crash-${model.split('/')[0]}` });
      await waitFor(() => llm.batches.createRequests >= 1 || undefined, 60_000, 20);
      worker.kill('SIGKILL');
      const madeWhileDying = llm.batches.createRequests;
      worker = await spawnWorkerProcess(taskQueue, env, server.address);
      // Mid-wait: every provider batch exists and none has ended; the worker and the server go down.
      llm.batches.configure({ createDelayMs: 0 });
      await waitFor(() => (llm.batches.batches.length === 3 && llm.batches.batches.some((b) => Date.now() > b.createdAt + 1000)) || undefined, 60_000, 50);
      worker.kill('SIGKILL');
      await connection.close();
      await server.stop();
      server = await DevServer.start({ dbFile, port, searchAttributes: {} });
      worker = await spawnWorkerProcess(taskQueue, env, server.address);
      connection = await Connection.connect({ address: server.address });
      const again = new DataSetGenerator(options(new Client({ connection })));
      const result = await (await again.getRun(run.runId)).result();

      expect(madeWhileDying).toBeGreaterThanOrEqual(1);
      expect(llm.batches.batches).toHaveLength(3); // planned: 3; none created twice
      expect(llm.batches.createRequests).toBe(3);
      expect(result.records).toBe(120);
      const texts = [...(await Dataset.load(result.datasetPath))].map((r) => JSON.stringify(r.messages));
      expect(new Set(texts).size).toBe(120);
      expect(result.stats.batchLines).toMatchObject({ submitted: 60, succeeded: 60, live: 0 });
      expect(llm.calls.length).toBe(0);
      expect(llm.batches.billed().lines).toBe(60);
    } finally {
      worker.kill('SIGKILL');
      await connection.close().catch(() => undefined);
      await server.stop();
    }
  },
);
