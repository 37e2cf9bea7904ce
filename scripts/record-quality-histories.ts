/**
 * Records the histories of a dataset run with quality gates for the replay tests
 * (test/workflow/replay.test.ts, policy in docs/RELEASES.md): a judge that rejects about a third of
 * the examples on one criterion (topped up), a regex validator that flags some and drops none,
 * continue-as-new every 4 batches, one batch per slice, two calls per batch and a budget that counts the judge's price.
 * What the workflow folds from these slices (rejections by reason, judge tokens and score histograms,
 * validator counts, the judge's share of the cost) is what the next release must replay.
 * Run it on the release commit whose workflow code the fixtures pin:
 *   npx tsx scripts/record-quality-histories.ts test/fixtures/histories/<release>/dataset-run-quality   (writes -0.json, -1.json, ...)
 */
import { createHash } from 'node:crypto';
import { DataSetGenerator } from '../src/client/data-set-generator';
import { topicPaths } from '../test/support/fixtures';
import { runMain, startRecording, writeChain } from './record-support';

const JUDGE = 'Judge this training example.';

async function main(): Promise<void> {
  const prefix = process.argv[2];
  if (!prefix) throw new Error('usage: record-quality-histories.ts <out-prefix>');
  const { client, taskQueue, dataDir, stop } = await startRecording('record-quality', {
    latencyMs: 30,
    // The judge's score is a hash of its prompt: about a third score 2 on correctness (under 3).
    respond: ({ prompt }) =>
      prompt.includes(JUDGE) ? { scores: { correctness: createHash('sha256').update(prompt).digest()[0]! < 85 ? 2 : 4 }, reason: 'scripted' } : undefined,
  });
  try {
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 4,
      callsPerBatch: 2,
      batchesPerRun: 4,
      batchesPerSlice: 1,
      budgetUsd: 100,
      temporal: { client, taskQueue },
    })
      .setJudge({ rubric: [{ name: 'correctness', description: 'Is the answer right?', minScore: 3 }], price: { inputPerMTokUsd: 1, outputPerMTokUsd: 2 } })
      // The local server's answers name their call: those of calls ending in 5 to 9 are flagged, kept.
      .addValidator({ type: 'regex', pattern: 'call \\d*[0-4]\\b', action: 'flag' });
    const run = await gen.startData({ numSteps: 24, batchSize: 2, topics: topicPaths(24), runName: 'record-quality' });
    const result = await run.result();
    const q = result.stats.quality;
    process.stdout.write(
      `${result.status}: ${result.records} records, ${result.stats.segments} segments, rejected ${JSON.stringify(result.stats.rejected)}, ` +
        `judge calls ${q?.judgeCalls}, flagged ${JSON.stringify(q?.validators)}\n`,
    );
    if (!result.stats.rejected['judge: correctness']) throw new Error('the judge rejected nothing: the fixture would not cover top-ups');
    const written = await writeChain(client, run.runId, prefix);
    process.stdout.write(`wrote ${written} histories to ${prefix}-*.json\n`);
  } finally {
    await stop();
  }
}

runMain(main);
