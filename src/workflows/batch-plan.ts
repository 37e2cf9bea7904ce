/**
 * Which batch a dataset run starts next: the planned batches in order, then top-ups while accepted
 * plus requested-in-flight examples fall short of the target. Pure (no Temporal API), so the rules
 * are unit-tested without a server and the workflow only decides *when* to ask.
 */

/** One batch to start: its index, first example and how many examples it asks for. */
export interface BatchWork {
  batchIndex: number;
  firstExample: number;
  count: number;
}

/** The plan's cursor; carried across continue-as-new. */
export interface PlanCursor {
  /** Index of the next batch to start (planned or top-up). */
  nextBatch: number;
  /** First example index free for top-ups (planned batches own examples 0..numSteps-1). */
  nextExample: number;
  extraBatchesUsed: number;
}

export interface PlanLimits {
  numSteps: number;
  /** Examples one batch asks for: examples per call x calls per batch. */
  examplesPerBatch: number;
  maxExtraBatches: number;
}

/** The progress a top-up is sized from. */
interface PlanProgress {
  accepted: number;
  /** Examples asked for by finished batches (accepted or not). */
  requested: number;
  /** Examples asked for by batches in flight. */
  requestedInFlight: number;
  /** Examples the content filters and dedup rejected so far (they grow the top-up budget). */
  rejected: number;
}

/** Below this share of accepted examples the target is out of reach: top-ups stop (10 requests per example at most). */
export const MIN_ACCEPTANCE = 0.1;

export function plannedBatches(limits: PlanLimits): number {
  return Math.ceil(limits.numSteps / limits.examplesPerBatch);
}

/** A fresh plan cursor: top-ups' examples start after the planned ones. */
export function newPlanCursor(limits: PlanLimits): PlanCursor {
  return { nextBatch: 0, nextExample: limits.numSteps, extraBatchesUsed: 0 };
}

/**
 * The next batch to start, or undefined when nothing is left to ask for now: the planned batches in
 * order, then top-ups while accepted plus requested-in-flight examples fall short of the target.
 * Top-ups are counted in examples (issue 18: counting top-up *batches*, a top-up asking for 8
 * examples used a whole batch of the budget, and a filter rejecting 20% ended at 38 of 40). The
 * extra examples asked for may reach `maxExtraBatches x examplesPerBatch` (the fraction the user gave, for
 * failed batches and bad luck) plus one for every rejected example, so a run whose filters accept a
 * steady share always reaches its target; a top-up asks for more than is missing, scaled by the
 * acceptance so far (the dataset is cut at the target). It stops short only when that share falls
 * below MIN_ACCEPTANCE once the planned examples were asked for (the target would cost more than
 * ten requests per example): the run ends incomplete and says so with the numbers.
 */
export function nextWork(cursor: PlanCursor, limits: PlanLimits, progress: PlanProgress): BatchWork | undefined {
  if (cursor.nextBatch < plannedBatches(limits)) {
    const firstExample = cursor.nextBatch * limits.examplesPerBatch;
    return { batchIndex: cursor.nextBatch, firstExample, count: Math.min(limits.examplesPerBatch, limits.numSteps - firstExample) };
  }
  const missing = limits.numSteps - progress.accepted - progress.requestedInFlight;
  if (missing <= 0) return undefined;
  const acceptance = progress.requested > 0 ? progress.accepted / progress.requested : 1;
  if (progress.requested >= limits.numSteps && acceptance < MIN_ACCEPTANCE) return undefined;
  const left = limits.maxExtraBatches * limits.examplesPerBatch + progress.rejected - (cursor.nextExample - limits.numSteps);
  if (left <= 0) return undefined;
  const count = Math.min(limits.examplesPerBatch, Math.ceil(missing / Math.max(acceptance, MIN_ACCEPTANCE)), left);
  return { batchIndex: cursor.nextBatch, firstExample: cursor.nextExample, count };
}

/** Moves the cursor past `work` (which `nextWork` returned). */
export function advance(cursor: PlanCursor, limits: PlanLimits, work: BatchWork): void {
  if (work.batchIndex >= plannedBatches(limits)) {
    cursor.extraBatchesUsed++;
    cursor.nextExample += work.count;
  }
  cursor.nextBatch++;
}
