/**
 * Which batch a dataset run starts next: the planned batches in order, then top-ups while accepted
 * plus requested-in-flight examples fall short of the target. Pure (no Temporal API), so the rules
 * are unit-tested without a server and the workflow only decides *when* to ask.
 */

/** One batch to start: its index, first example slot and how many examples it asks for. */
export interface BatchWork {
  batchIndex: number;
  slotStart: number;
  count: number;
}

/** The plan's cursor; carried across continue-as-new. */
export interface PlanCursor {
  /** Index of the next batch to start (planned or top-up). */
  nextBatch: number;
  /** First free example slot for top-ups (planned batches own slots 0..numSteps-1). */
  nextSlot: number;
  extraBatchesUsed: number;
}

export interface PlanLimits {
  numSteps: number;
  batchSize: number;
  maxExtraBatches: number;
}

/** The progress a top-up is sized from. */
export interface PlanProgress {
  accepted: number;
  /** Examples asked for by finished batches (accepted or not). */
  requested: number;
  /** Examples asked for by batches in flight. */
  requestedInFlight: number;
  /** Examples the content filters and dedup rejected so far (they grow the top-up budget). */
  rejected?: number;
}

/** Below this share of accepted examples the target is out of reach: top-ups stop (10 requests per example at most). */
export const MIN_ACCEPTANCE = 0.1;

export function plannedBatches(limits: PlanLimits): number {
  return Math.ceil(limits.numSteps / limits.batchSize);
}

/** A fresh plan cursor: top-up slots start after the planned ones. */
export function newPlanCursor(limits: PlanLimits): PlanCursor {
  return { nextBatch: 0, nextSlot: limits.numSteps, extraBatchesUsed: 0 };
}

/**
 * The next batch to start, or undefined when nothing is left to ask for now. Top-ups ask for more
 * than is missing when filters reject a share of examples (the dataset is cut at the target).
 */
export function nextWork(cursor: PlanCursor, limits: PlanLimits, progress: PlanProgress): BatchWork | undefined {
  const planned = plannedBatches(limits);
  if (cursor.nextBatch < planned) {
    const slotStart = cursor.nextBatch * limits.batchSize;
    return { batchIndex: cursor.nextBatch, slotStart, count: Math.min(limits.batchSize, limits.numSteps - slotStart) };
  }
  const missing = limits.numSteps - progress.accepted - progress.requestedInFlight;
  if (missing <= 0 || cursor.extraBatchesUsed >= limits.maxExtraBatches) return undefined;
  const acceptance = progress.requested > 0 ? Math.max(0.1, progress.accepted / progress.requested) : 1;
  return { batchIndex: cursor.nextBatch, slotStart: cursor.nextSlot, count: Math.min(limits.batchSize, Math.ceil(missing / acceptance)) };
}

/**
 * Top-ups counted in examples, with a budget that grows with what the filters reject (issue 18).
 * `nextWork` counted top-up *batches*: with many calls per batch a top-up asking for 8 examples used
 * a whole batch of the budget, and a seed-style filter rejecting 20% ended at 38 of 40. Here the
 * extra examples asked for may reach `maxExtraBatches x batchSize` (the fraction the user gave, for
 * failed batches and bad luck) plus one for every rejected example, so a run whose filters accept a
 * steady share always reaches its target. It stops short only when that share falls below
 * MIN_ACCEPTANCE once the planned examples were asked for (the target would cost more than ten
 * requests per example): the run ends incomplete and says so with the numbers.
 */
export function nextWorkByAcceptance(cursor: PlanCursor, limits: PlanLimits, progress: PlanProgress): BatchWork | undefined {
  if (cursor.nextBatch < plannedBatches(limits)) return nextWork(cursor, limits, progress);
  const missing = limits.numSteps - progress.accepted - progress.requestedInFlight;
  if (missing <= 0) return undefined;
  const acceptance = progress.requested > 0 ? progress.accepted / progress.requested : 1;
  if (progress.requested >= limits.numSteps && acceptance < MIN_ACCEPTANCE) return undefined;
  const left = limits.maxExtraBatches * limits.batchSize + (progress.rejected ?? 0) - (cursor.nextSlot - limits.numSteps);
  if (left <= 0) return undefined;
  const count = Math.min(limits.batchSize, Math.ceil(missing / Math.max(acceptance, MIN_ACCEPTANCE)), left);
  return { batchIndex: cursor.nextBatch, slotStart: cursor.nextSlot, count };
}

/** Moves the cursor past `work` (which `nextWork` returned). */
export function advance(cursor: PlanCursor, limits: PlanLimits, work: BatchWork): void {
  if (work.batchIndex >= plannedBatches(limits)) {
    cursor.extraBatchesUsed++;
    cursor.nextSlot += work.count;
  }
  cursor.nextBatch++;
}
