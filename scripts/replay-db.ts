/**
 * Replays every dataset-run history kept in a dev server's SQLite file on today's workflow code
 * (evidence hunting: a chaos run's server state outlives the test). Prints the runs that fail and
 * writes their histories next to the copy.
 *   npx tsx scripts/replay-db.ts <temporal.sqlite>
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { DevServer } from '../src/worker/dev-server';

async function main(): Promise<void> {
  const db = process.argv[2];
  if (!db) throw new Error('usage: replay-db.ts <temporal.sqlite>');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'replay-db-'));
  const copy = path.join(dir, 'temporal.sqlite');
  copyFileSync(db, copy);
  const server = await DevServer.start({ dbFile: copy });
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
    const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: quiet as never });
    let n = 0;
    for await (const wf of client.workflow.list({ query: `WorkflowType = 'datasetRunWorkflow'` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      n++;
      const err = await Worker.runReplayHistory({ workflowBundle: bundle }, history, wf.runId).catch((e: unknown) => e);
      if (err) {
        const file = path.join(dir, `${wf.workflowId}-${wf.runId}.json`);
        writeFileSync(
          file,
          JSON.stringify(temporal.api.history.v1.History.toObject(history as temporal.api.history.v1.History, { longs: String, enums: String, bytes: String })),
        );
        process.stdout.write(`FAIL ${wf.workflowId} ${wf.runId}: ${(err as Error).message.slice(0, 900)}\n  -> ${file}\n`);
      }
    }
    process.stdout.write(`${n} histories replayed from ${db}\n`);
    await connection.close();
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err}\n`);
  process.exit(1);
});
