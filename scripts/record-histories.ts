/**
 * Records the histories of one dataset run chain for the replay tests (test/workflow/replay.test.ts,
 * policy in docs/RELEASES.md): pause and resume, an applySettings signal, 15% server errors (slices
 * retried by Temporal), content-filter top-ups, continue-as-new every 4 batches, two calls per batch,
 * a budget, pacing and exact dedup. Run it on the release commit whose workflow code the fixtures pin:
 *   npx tsx scripts/record-histories.ts test/fixtures/histories/<release>/dataset-run   (writes -0.json, -1.json, ...)
 */
import { DataSetGenerator } from '../src/client/data-set-generator';
import { topicPaths } from '../test/support/fixtures';
import { runMain, startRecording, writeChain } from './record-support';

async function main(): Promise<void> {
  const prefix = process.argv[2];
  if (!prefix) throw new Error('usage: record-histories.ts <out-prefix>');
  const { client, taskQueue, dataDir, stop } = await startRecording('record', { latencyMs: 60, failureRates: { '500': 0.15 }, seed: 11 });
  try {
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 4,
      callsPerBatch: 2,
      batchesPerRun: 4,
      budgetUsd: 100,
      rateLimit: { requestsPerMinute: 6000 },
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
    await run.updateSettings({ concurrency: 6, requestTimeoutSeconds: 30, budgetUsd: 90 });
    const result = await run.result();
    process.stdout.write(`${result.status}: ${result.records} records, ${result.stats.segments} segments\n`);
    const written = await writeChain(client, run.runId, prefix);
    process.stdout.write(`wrote ${written} histories to ${prefix}-*.json\n`);
  } finally {
    await stop();
  }
}

runMain(main);
