/**
 * Records the histories of one dataset run chain for the replay tests (test/workflow/replay.test.ts):
 * pause and resume, an updateSettings update, 15% server errors, content-filter top-ups and
 * continue-as-new every 4 batches. Run it on the commit whose workflow code the fixtures must pin:
 *   npx tsx scripts/record-histories.ts <out-prefix>      (writes <out-prefix>-0.json, -1.json, ...)
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DataSetGenerator } from '../src/client/data-set-generator';
import { DevServer } from '../src/worker/dev-server';
import { LlmTestServer } from '../test/support/llm-server';
import { topicPaths, workerEnv } from '../test/support/fixtures';

async function main(): Promise<void> {
  const prefix = process.argv[2];
  if (!prefix) throw new Error('usage: record-histories.ts <out-prefix>');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'df-record-'));
  const server = await DevServer.start({});
  const llm = await new LlmTestServer().start();
  llm.configure({ latencyMs: 60, failureRates: { '500': 0.15 }, seed: 11 });
  process.env.DF_TEST_TEMPORAL_ADDRESS = server.address;
  const { startWorker } = await import('../test/support/temporal');
  const taskQueue = 'record';
  const dataDir = path.join(dir, 'data');
  const worker = await startWorker(taskQueue, workerEnv(llm), dataDir);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 2,
      batchesPerRun: 4,
      initialBackoffSeconds: 0.1,
      maxBackoffSeconds: 0.5,
      maxRetries: 5,
      // Rejects the examples of calls 3 and 30-39: the run tops up with extra batches.
      filters: { bannedPhrases: ['of call 3'] },
      temporal: { client, taskQueue },
    });
    const run = await gen.startData({ numSteps: 24, batchSize: 2, topics: topicPaths(24), runName: 'record' });
    const waitStats = async (ok: (s: Awaited<ReturnType<typeof run.stats>>) => boolean) => {
      for (;;) {
        const s = await run.stats().catch(() => undefined);
        if (s && ok(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitStats((s) => s.batchesDone >= 2);
    await run.pause();
    await waitStats((s) => s.batchesInFlight === 0);
    await run.resume();
    await waitStats((s) => s.segments >= 2);
    await run.updateSettings({ concurrency: 3, requestTimeoutSeconds: 30 });
    const result = await run.result();
    process.stdout.write(`${result.status}: ${result.records} records, ${result.stats.segments} segments\n`);
    const runs: string[] = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${run.runId}'` })) runs.push(wf.runId);
    runs.reverse(); // oldest first
    for (const [i, runId] of runs.entries()) {
      const history = await client.workflow.getHandle(run.runId, runId).fetchHistory();
      await fs.writeFile(`${prefix}-${i}.json`, historyToJSON(history) + '\n');
    }
    process.stdout.write(`wrote ${runs.length} histories to ${prefix}-*.json\n`);
  } finally {
    await worker.stop();
    await connection.close();
    await llm.stop();
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
