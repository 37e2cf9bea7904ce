/**
 * What the history-recording scripts share: a fresh dev server, the local LLM server, a worker and
 * a client (`startRecording`), and writing a workflow's chain of runs, oldest first (`writeChain`).
 */
import { promises as fs, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DevServer } from '../src/worker/dev-server';
import { LlmTestServer, type Behaviour } from '../test/support/llm-server';
import { workerEnv } from '../test/support/fixtures';

export interface Recording {
  client: Client;
  /** The local LLM server the worker calls (its batch APIs too). */
  llm: LlmTestServer;
  taskQueue: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startRecording(taskQueue: string, llmBehaviour: Partial<Behaviour>): Promise<Recording> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `df-${taskQueue}-`));
  const server = await DevServer.start({});
  const llm = await new LlmTestServer().start();
  llm.configure(llmBehaviour);
  process.env.DF_TEST_TEMPORAL_ADDRESS = server.address;
  const { startWorker } = await import('../test/support/temporal');
  const dataDir = path.join(dir, 'data');
  const worker = await startWorker(taskQueue, workerEnv(llm), dataDir);
  const connection = await Connection.connect({ address: server.address });
  return {
    client: new Client({ connection }),
    llm,
    taskQueue,
    dataDir,
    async stop() {
      await worker.stop();
      await connection.close();
      await llm.stop();
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes every run of `workflowId` (continue-as-new chains have several), oldest first, to `<prefix>-<i>.json`; returns how many. */
export async function writeChain(client: Client, workflowId: string, prefix: string): Promise<number> {
  const runs: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.runId);
  runs.reverse();
  for (const [i, runId] of runs.entries()) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    await fs.writeFile(`${prefix}-${i}.json`, historyToJSON(history) + '\n');
  }
  return runs.length;
}

export function runMain(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
