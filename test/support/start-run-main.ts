/**
 * A client that starts a run and dies at once (process.exit), as a crashed script would.
 * Prints the run id. Env: TEMPORAL_ADDRESS, DEEPFABRIC_TASK_QUEUE, DEEPFABRIC_DATA_DIR.
 */
import { DataSetGenerator } from '../../src/client/data-set-generator';

async function main(): Promise<void> {
  const gen = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', concurrency: 2 });
  const topics = Array.from({ length: 30 }, (_, i) => ['Crash', `Topic ${i}`]);
  const run = await gen.startData({ numSteps: 30, batchSize: 3, topics, runName: 'orphan' });
  process.stdout.write(`${run.runId}\n`);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err}\n`);
  process.exit(1);
});
