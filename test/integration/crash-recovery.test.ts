import { Client, Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { DevServer, freePort } from '../../src/worker/dev-server';
import { RunStore } from '../../src/storage/run-store';
import { LlmTestServer } from '../support/llm-server';
import { topicPaths, workerEnv } from '../support/fixtures';
import { spawnWorkerProcess, tempDataDir, temporalAddress, testClient, uniqueTaskQueue, waitFor } from '../support/temporal';

let llm: LlmTestServer;
beforeAll(async () => {
  llm = await new LlmTestServer().start();
});
afterAll(() => llm.stop());
beforeEach(() => llm.reset());

const lines = async (file: string) => (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);

it('a dev server stopped mid-run and restarted on the same SQLite file, with a new worker, completes the run without duplicates', async () => {
  llm.configure({ latencyMs: 300 });
  const dir = tempDataDir('restart-');
  const port = await freePort();
  const dbFile = path.join(dir, 'temporal.sqlite');
  // This server has none of the Dataset* search attributes: runs must notice and go without them.
  let server = await DevServer.start({ dbFile, port, searchAttributes: {} });
  const taskQueue = uniqueTaskQueue('restart');
  let worker = await spawnWorkerProcess(taskQueue, { ...workerEnv(llm), DEEPFABRIC_DATA_DIR: dir }, server.address);
  let connection = await Connection.connect({ address: server.address });
  try {
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir: dir,
      concurrency: 2,
      heartbeatTimeout: 2,
      temporal: { client: new Client({ connection }), taskQueue },
    });
    const run = await gen.startData({ numSteps: 60, batchSize: 2, topics: topicPaths(60), runName: 'restart' });
    const store = new RunStore(run.runDir!);
    await waitFor(async () => (await store.shardIndices()).length >= 5, 60_000, 50);

    worker.kill('SIGKILL');
    await server.stop();
    const shardsAtStop = (await store.shardIndices()).length;
    expect(shardsAtStop).toBeLessThan(30);
    await connection.close();

    server = await DevServer.start({ dbFile, port, searchAttributes: {} });
    worker = await spawnWorkerProcess(taskQueue, { ...workerEnv(llm), DEEPFABRIC_DATA_DIR: dir }, server.address);
    connection = await Connection.connect({ address: server.address });
    const again = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir: dir, temporal: { client: new Client({ connection }), taskQueue } });
    const result = await (await again.getRun(run.runId)).result();
    const records = await lines(result.datasetPath);
    expect(records).toHaveLength(60);
    expect(new Set(records).size).toBe(60);
    expect(result.stats.accepted).toBe(60);
  } finally {
    worker.kill('SIGKILL');
    await connection.close().catch(() => undefined);
    await server.stop();
  }
});

it('a client that dies right after starting a run is replaced by a new one that re-attaches by run id', async () => {
  const taskQueue = uniqueTaskQueue('orphan');
  const dataDir = tempDataDir('orphan-');
  const worker = await spawnWorkerProcess(taskQueue, { ...workerEnv(llm), DEEPFABRIC_DATA_DIR: dataDir });
  const { client, connection } = await testClient();
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, '..', 'support', 'start-run-main.ts')], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), DEEPFABRIC_TASK_QUEUE: taskQueue, DEEPFABRIC_DATA_DIR: dataDir },
    });
    const runId = stdout.trim();
    expect(runId).toMatch(/^orphan-[0-9a-f]{8}$/);
    const gen = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir, temporal: { client, taskQueue } });
    const run = await gen.getRun(runId);
    const stats = await run.stats();
    expect(stats.target).toBe(30);
    const result = await run.result();
    expect(await lines(result.datasetPath)).toHaveLength(30);
  } finally {
    worker.kill('SIGKILL');
    await connection.close();
  }
});
