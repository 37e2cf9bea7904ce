/**
 * The inputs of a dataset run's slice activities, built from the run's input: small (the topic
 * paths of each batch when topics are inline, a reference otherwise), no secrets. Pure, no Temporal API.
 */
import type { SliceInput } from '../activities/types';
import type { RunInput } from '../config/run-input';
import { branchesOf, pathIndexForExample, type SamplingPlan } from '../topics/sampling';
import type { BatchWork } from './batch-plan';

/** What changes while the run goes on: the settings in force, and whether any batch has succeeded yet. */
interface InputMoment {
  requestTimeoutSeconds: number;
  retryOnErrors: readonly string[];
  firstWave: boolean;
}

/** The inputs of the run's slices: what its batches share, written once, then each batch's examples (and inline topics). */
export function sliceInputs(input: RunInput): (works: BatchWork[], at: InputMoment) => SliceInput {
  const inline = input.topics.kind === 'inline' ? input.topics.paths : undefined;
  const sampling: SamplingPlan = {
    strategy: input.sampling.strategy,
    seed: input.sampling.seed,
    count: input.topics.kind === 'inline' ? input.topics.paths.length : input.topics.count,
    branches: inline && input.sampling.strategy === 'balanced' ? branchesOf(inline) : undefined,
    order: input.sampling.order,
  };
  const inlinePaths = (work: BatchWork) => Array.from({ length: work.count }, (_, i) => inline![pathIndexForExample(sampling, work.firstExample + i)]!);
  return (works, at) => ({
    runId: input.runId,
    runDir: input.runDir,
    storeId: input.storeId,
    generation: { ...input.generation, requestTimeoutSeconds: at.requestTimeoutSeconds },
    firstWave: at.firstWave,
    ...(input.dedup ? { dedup: input.dedup } : {}),
    ...(input.pacing ? { pacing: input.pacing } : {}),
    retryOnErrors: [...at.retryOnErrors],
    examplesPerCall: input.examplesPerCall,
    ...(inline ? {} : { topicsRef: { sampling: input.sampling, count: sampling.count } }),
    batches: works.map((w) => (inline ? { ...w, topicPaths: inlinePaths(w) } : w)),
    callsInFlight: input.callsPerBatch,
  });
}
