import { ApplicationFailure, Context } from '@temporalio/activity';
import { DiversityMeter, type Diversity } from '../dataset/diversity';
import { recordText, type DatasetRecord } from '../dataset/example-schemas';
import { runDataFor, StoreMismatchError, type RunData, type Store } from '../storage/store';
import type { StoredSummary } from './types';
import type { AssembleInput, AssembleResult } from './types';

/**
 * Joins the run's shards, in batch order, into its dataset (at most `numSteps` records) and writes
 * the manifest, in this worker's store. Idempotent: running it twice gives the same dataset.
 */
export function makeAssembleDataset(runStore: Store) {
  return async function assembleDataset(input: AssembleInput): Promise<AssembleResult> {
    const run = await runDataFor(runStore, input).catch((err: unknown) => {
      if (err instanceof StoreMismatchError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      throw err;
    });
    // Diversity is measured in the assembly's own pass when the store reads the shards itself (a folder), else in a second one.
    const meter = new DiversityMeter();
    let measured = false;
    const { records, shards } = await run.assemble(input.numSteps, (batch, taken) => {
      Context.current().heartbeat(batch);
      if (!taken) return;
      measured = true;
      const topics = (taken.summary as StoredSummary).recordTopics;
      taken.records.forEach((r, i) => meter.add(recordText(r as DatasetRecord), topics?.[i]));
    });
    const partial = records < input.numSteps;
    const diversity = measured || records === 0 ? meter.result() : await measureDiversity(run, input.numSteps);
    await run.writeManifest({
      ...input.manifest,
      runId: input.runId,
      records,
      target: input.numSteps,
      partial,
      shards,
      dataset: 'dataset.jsonl',
      diversity,
      assembledAt: new Date().toISOString(),
    });
    // Where the worker put it; clients read the dataset from their own view of the store (RunHandle.result).
    return { datasetPath: `${run.location}/dataset.jsonl`, manifestPath: `${run.location}/manifest.json`, records, partial };
  };
}

/**
 * Distinct-n, topics used and the share per top-level branch of the dataset's records (the shards in
 * batch order, up to `numSteps`, as assembled), streamed shard by shard.
 */
async function measureDiversity(run: RunData, numSteps: number): Promise<Diversity> {
  const meter = new DiversityMeter();
  let n = 0;
  for (const batch of await run.shardIndices()) {
    if (n >= numSteps) break;
    const { summary, records } = await run.readShard<StoredSummary>(batch);
    records.slice(0, numSteps - n).forEach((r, i) => meter.add(recordText(r as DatasetRecord), summary.recordTopics?.[i]));
    n += Math.min(records.length, numSteps - n);
    Context.current().heartbeat(batch);
  }
  return meter.result();
}
