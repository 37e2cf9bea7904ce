/**
 * Records the histories of a topic tree and a topic graph build for the replay tests
 * (test/workflow/replay.test.ts), with 15% server errors (retried expansions). Run it on the commit
 * whose topic-build code the fixtures must pin:
 *   npx tsx scripts/record-topic-histories.ts <out-prefix>   (writes <out-prefix>-tree-<i>.json, <out-prefix>-graph-<i>.json)
 */
import { promises as fs, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { buildTopics } from '../src/client/topic-builder';
import { DevServer } from '../src/worker/dev-server';
import { LlmTestServer } from '../test/support/llm-server';
import { workerEnv } from '../test/support/fixtures';

async function main(): Promise<void> {
  const prefix = process.argv[2];
  const perRun = process.argv[3] ? Number(process.argv[3]) : undefined;
  if (!prefix) throw new Error('usage: record-topic-histories.ts <out-prefix> [expansions per run]');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'df-record-topics-'));
  const server = await DevServer.start({});
  const llm = await new LlmTestServer().start();
  llm.configure({ latencyMs: 30, failureRates: { '500': 0.15 }, seed: 5 });
  process.env.DF_TEST_TEMPORAL_ADDRESS = server.address;
  const { startWorker } = await import('../test/support/temporal');
  const taskQueue = 'record-topics';
  const dataDir = path.join(dir, 'data');
  const worker = await startWorker(taskQueue, workerEnv(llm), dataDir);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    for (const mode of ['tree', 'graph'] as const) {
      const { result } = await buildTopics({
        rootPrompt: `Record ${mode}`,
        mode,
        depth: 3,
        degree: 2,
        concurrency: 3,
        modelName: 'openai/gpt-4o-mini',
        initialBackoffSeconds: 0.1,
        maxBackoffSeconds: 0.5,
        maxRetries: 6,
        dataDir,
        ...(perRun ? { expansionsPerRun: perRun } : {}),
        temporal: { client, taskQueue },
      } as Parameters<typeof buildTopics>[0]);
      const id = (await (async () => {
        for await (const wf of client.workflow.list({ query: `WorkflowType = '${mode === 'tree' ? 'topicTreeWorkflow' : 'topicGraphWorkflow'}'` }))
          return wf.workflowId;
        return undefined;
      })())!;
      const runs: string[] = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
      runs.reverse();
      for (const [i, runId] of runs.entries()) {
        const history = await client.workflow.getHandle(id, runId).fetchHistory();
        await fs.writeFile(`${prefix}-${mode}-${i}.json`, historyToJSON(history) + '\n');
      }
      process.stdout.write(`${mode}: ${result.nodes} nodes, ${result.paths} paths, ${runs.length} histories\n`);
    }
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
