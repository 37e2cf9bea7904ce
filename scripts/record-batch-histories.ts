/**
 * Records the histories of two batch-mode dataset runs (issue 21) for the replay tests
 * (test/workflow/replay.test.ts, policy in docs/RELEASES.md):
 * - OpenAI's Batch API: one provider batch at a time, errored and expired lines resubmitted in a
 *   second round, polled while in progress (state-change returns), continue-as-new after each chunk;
 * - Anthropic's Message Batches: creations one at a time, then a stop mid-wait (the provider batches
 *   cancelled there, their finished lines kept, no live call).
 * Run it on the commit whose workflow code the fixtures pin:
 *   npx tsx scripts/record-batch-histories.ts test/fixtures/histories/<release>/dataset-run-batch
 *   (writes -openai-0.json, ..., -anthropic-0.json)
 */
import { DataSetGenerator } from '../src/client/data-set-generator';
import { topicPaths } from '../test/support/fixtures';
import { runMain, startRecording, writeChain } from './record-support';

async function main(): Promise<void> {
  const prefix = process.argv[2];
  if (!prefix) throw new Error('usage: record-batch-histories.ts <out-prefix>');
  const { client, llm, taskQueue, dataDir, stop } = await startRecording('record-batch', {});
  try {
    const make = (modelName: string, batchesPerRun: number, maxInFlight: number) =>
      new DataSetGenerator({
        modelName,
        dataDir,
        concurrency: 4,
        callsPerBatch: 2,
        batchesPerRun,
        callMode: 'batch',
        batchApi: { maxRequests: 8, pollSeconds: 1, maxInFlight },
        temporal: { client, taskQueue },
      });
    // Line 2 of the first provider batch errors, line 5 of the third expires: both resubmitted.
    llm.batches.configure({ processingMs: 3000, lineOutcome: (_id, i, no) => (no === 1 && i === 2 ? 'error' : no === 3 && i === 5 ? 'expire' : 'ok') });
    const openai = await make('openai/gpt-4o-mini', 4, 1).startData({ numSteps: 22, batchSize: 1, topics: topicPaths(22), runName: 'record-batch-openai' });
    const a = await openai.result();
    process.stdout.write(`openai: ${a.status}, ${a.records} records, ${a.stats.segments} segments, ${JSON.stringify(a.stats.batchLines)}\n`);
    process.stdout.write(`wrote ${await writeChain(client, openai.runId, `${prefix}-openai`)} histories\n`);

    llm.batches.configure({ processingMs: 20_000, lineOutcome: undefined });
    const anthropic = await make('anthropic/claude-3-5-haiku', 500, 10).startData({
      numSteps: 24,
      batchSize: 1,
      topics: topicPaths(24),
      runName: 'record-batch-anthropic',
    });
    for (;;) {
      const s = await anthropic.stats();
      if (Object.values(s.providerBatches ?? {}).filter((b) => b.succeeded >= 2).length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await anthropic.stop();
    const b = await anthropic.result();
    process.stdout.write(`anthropic: ${b.status}, ${b.records} records, ${JSON.stringify(b.stats.batchLines)}\n`);
    process.stdout.write(`wrote ${await writeChain(client, anthropic.runId, `${prefix}-anthropic`)} histories\n`);
  } finally {
    await stop();
  }
}

runMain(main);
