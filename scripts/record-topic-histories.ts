/**
 * Records the histories of a topic tree and a topic graph build for the replay tests
 * (test/workflow/replay.test.ts), with 15% server errors (retried expansions). Run it on the commit
 * whose topic-build code the fixtures must pin:
 *   npx tsx scripts/record-topic-histories.ts <out-prefix>   (writes <out-prefix>-tree-<i>.json, <out-prefix>-graph-<i>.json)
 */
import { buildTopicInput, buildTopics, type BuildTopicsOptions } from '../src/client/topic-builder';
import { runMain, startRecording, writeChain } from './record-support';

async function main(): Promise<void> {
  const prefix = process.argv[2];
  const perRun = process.argv[3] ? Number(process.argv[3]) : undefined;
  if (!prefix) throw new Error('usage: record-topic-histories.ts <out-prefix> [expansions per run]');
  const { client, taskQueue, dataDir, stop } = await startRecording('record-topics', { latencyMs: 30, failureRates: { '500': 0.15 }, seed: 5 });
  try {
    for (const mode of ['tree', 'graph'] as const) {
      const options: Omit<BuildTopicsOptions, 'temporal'> = {
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
      };
      const { result } = await buildTopics({ ...options, temporal: { client, taskQueue } });
      const written = await writeChain(client, buildTopicInput(options).buildId, `${prefix}-${mode}`);
      process.stdout.write(`${mode}: ${result.nodes} nodes, ${result.paths} paths, ${written} histories\n`);
    }
  } finally {
    await stop();
  }
}

runMain(main);
