import { ApplicationFailure, Context } from '@temporalio/activity';
import { runDataFor, StoreMismatchError, type Store } from '../storage/store';
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
    const { records, shards } = await run.assemble(input.numSteps, (batch) => Context.current().heartbeat(batch));
    const partial = records < input.numSteps;
    await run.writeManifest({
      ...input.manifest,
      runId: input.runId,
      records,
      target: input.numSteps,
      partial,
      shards,
      dataset: 'dataset.jsonl',
      assembledAt: new Date().toISOString(),
    });
    // Where the worker put it; clients read the dataset from their own view of the store (RunHandle.result).
    return { datasetPath: `${run.location}/dataset.jsonl`, manifestPath: `${run.location}/manifest.json`, records, partial };
  };
}
