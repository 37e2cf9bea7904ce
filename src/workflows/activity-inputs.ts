/**
 * The inputs of a dataset run's batch and slice activities, built from the run's input: small (the
 * topic paths of the batch when topics are inline, a reference otherwise), no secrets. Pure, no
 * Temporal API.
 */
import type { BatchInput, SliceInput } from '../activities/types';
import type { RunInput } from '../config/run-input';
import { branchesOf, pathIndexForSlot, type SamplingPlan } from '../topics/sampling';
import type { BatchWork } from './batch-plan';

/** What changes while the run goes on: the request timeout in force, and whether any batch has succeeded yet. */
export interface InputMoment {
  requestTimeoutSeconds: number;
  firstWave: boolean;
}

export function activityInputs(input: RunInput) {
  const callsPerBatch = input.callsPerBatch ?? 1;
  const inline = input.topics.kind === 'inline' ? input.topics.paths : undefined;
  const sampling: SamplingPlan = {
    strategy: input.sampling.strategy,
    seed: input.sampling.seed,
    count: inline?.length ?? (input.topics.kind !== 'inline' ? input.topics.count : 1),
    branches: inline && input.sampling.strategy === 'balanced' ? branchesOf(inline) : undefined,
    order: input.sampling.order,
  };
  const inlinePaths = (work: BatchWork) => Array.from({ length: work.count }, (_, i) => inline![pathIndexForSlot(sampling, work.slotStart + i)]!);
  const topicsRef = () =>
    input.topics.kind === 'stored'
      ? { file: '', stored: true, sampling: input.sampling, count: sampling.count }
      : { file: input.topics.kind === 'file' ? input.topics.file : '', sampling: input.sampling, count: sampling.count };

  /** What every batch and slice input carries, whatever its batches. */
  const shared = (at: InputMoment) => ({
    runId: input.runId,
    runDir: input.runDir,
    ...(input.storeId ? { storeId: input.storeId } : {}),
    generation: { ...input.generation, requestTimeoutSeconds: at.requestTimeoutSeconds },
    firstWave: at.firstWave,
    ...(input.dedup ? { dedup: input.dedup } : {}),
    ...(input.pacing ? { pacing: input.pacing } : {}),
  });

  return {
    /** One batch's input (a batch activity). */
    batch(work: BatchWork, at: InputMoment): BatchInput {
      const base = { ...shared(at), ...work, ...(callsPerBatch > 1 ? { examplesPerCall: input.batchSize } : {}) };
      return inline ? { ...base, topicPaths: inlinePaths(work) } : { ...base, topicsRef: topicsRef() };
    },
    /** One slice's input: what its batches share, written once, then each batch's slots (and inline topics). */
    slice(works: BatchWork[], at: InputMoment): SliceInput {
      return {
        ...shared(at),
        examplesPerCall: input.batchSize,
        ...(inline ? {} : { topicsRef: topicsRef() }),
        batches: works.map((w) => (inline ? { ...w, topicPaths: inlinePaths(w) } : w)),
        callsInFlight: callsPerBatch,
      };
    },
  };
}
