/**
 * The dataset run's scheduling rules without Temporal (src/workflows/run-scheduler.ts): slice
 * sizes, what a slice's result or final failure counts, fatal stops, pause, settings, budget, the
 * segment's end. The workflow only turns these decisions into commands (its event-order rule is tested in
 * test/workflow/activation-grouping.test.ts, on the real sandbox).
 */
import type { BatchSummary } from '../../src/activities/types';
import { newPlanCursor, plannedBatches, type BatchWork, type PlanLimits } from '../../src/workflows/batch-plan';
import { RunScheduler } from '../../src/workflows/run-scheduler';
import { newStats } from '../../src/workflows/stats';

const retry = { maxRetries: 2, backoffMultiplier: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 60, retryOnErrors: ['server_error' as const] };

function scheduler(opts: { batches: number; concurrency: number; batchesPerSlice?: number; batchesPerRun?: number; budgetUsd?: number }) {
  const limits: PlanLimits = { numSteps: opts.batches, examplesPerBatch: 1, maxExtraBatches: 0 };
  const price = { inputPerMTokUsd: 1_000_000, outputPerMTokUsd: 0, source: 'test' }; // $1 per input token
  return new RunScheduler(
    {
      limits,
      callsPerBatch: 1,
      batchesPerSlice: opts.batchesPerSlice ?? 4,
      batchesPerRun: opts.batchesPerRun ?? 1000,
      price,
    },
    newStats(opts.batches, plannedBatches(limits), 0),
    newPlanCursor(limits),
    { concurrency: opts.concurrency, paused: false, retry, budgetUsd: opts.budgetUsd, requestTimeoutSeconds: 60 },
  );
}

const summary = (w: BatchWork, inputTokens = 1): BatchSummary => ({
  batchIndex: w.batchIndex,
  requested: w.count,
  accepted: w.count,
  rejected: {},
  errors: {},
  attempts: 1,
  inputTokens,
  outputTokens: 0,
  latencyMs: 1,
  finishedAtMs: 1,
  cached: false,
});
const failure = (category: string, nonRetryable = false, attempts?: number) => ({
  category,
  message: `${category}!`,
  nonRetryable,
  details: attempts !== undefined ? { attempts } : {},
});
const indices = (slices: BatchWork[][]) => slices.map((works) => works.map((w) => w.batchIndex));
const done = (works: BatchWork[]) => ({ result: { batches: works.map((w) => ({ batchIndex: w.batchIndex, summary: summary(w) })) } });

describe('run scheduler', () => {
  it('spreads the planned batches over the slots, at most batchesPerSlice each, so the last slices end together', () => {
    expect(indices(scheduler({ batches: 48, concurrency: 6 }).fill())).toEqual([0, 4, 8, 12, 16, 20].map((b) => [b, b + 1, b + 2, b + 3]));
    // 10 batches, 4 slots: slices of 3 (ceil(10 / 4)), the last one what is left.
    expect(indices(scheduler({ batches: 10, concurrency: 4 }).fill())).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    // batchesPerSlice 1: one batch per slice.
    expect(indices(scheduler({ batches: 10, concurrency: 2, batchesPerSlice: 1 }).fill())).toEqual([[0], [1]]);
  });

  it("a slice that failed after Temporal's retries: its finished batches count as done, the others as failed with their own attempts and failure", () => {
    const s = scheduler({ batches: 8, concurrency: 1 });
    const works = s.fill()[0]!;
    expect(works.map((w) => w.batchIndex)).toEqual([0, 1, 2, 3]);
    // Its last attempt (3 = maxRetries + 1) reported batches 0 and 1 done and batch 2 failed; batch 3 was not reported.
    const finished = {
      batches: [
        { batchIndex: 0, summary: summary(works[0]!) },
        { batchIndex: 1, summary: summary(works[1]!) },
        { batchIndex: 2, failure: failure('server_error', false, 3) },
      ],
    };
    expect(s.sliceSettled(works, { failure: failure('timeout', false, 3), finished })).toBe(true);
    expect(s.stats).toMatchObject({ batchesDone: 2, batchesFailed: 2, calls: 2 + 3 + 3, retries: 4, errorCategories: { server_error: 1, timeout: 1 } });
    expect(s.batchesInFlight).toBe(0);
    expect(indices(s.fill())).toEqual([[4, 5, 6, 7]]); // the slot goes on with new work
  });

  it('a failure without an attempt count took every attempt of the policy when the policy retries it, one when it does not', () => {
    const s = scheduler({ batches: 1, concurrency: 1 });
    s.sliceSettled(s.fill()[0]!, { failure: failure('server_error'), finished: undefined }); // e.g. a heartbeat timeout, every attempt
    expect(s.stats).toMatchObject({ batchesFailed: 1, calls: 3 });
    const t = scheduler({ batches: 1, concurrency: 1 });
    t.sliceSettled(t.fill()[0]!, { failure: failure('timeout'), finished: undefined }); // not in this run's retryOnErrors
    expect(t.stats).toMatchObject({ batchesFailed: 1, calls: 1 });
  });

  it('final failures a slice reports are counted with their categories, and the tokens they cost', () => {
    const s = scheduler({ batches: 3, concurrency: 1 });
    const works = s.fill()[0]!;
    const paid = { ...failure('validation_error', false, 1), details: { attempts: 1, inputTokens: 7, outputTokens: 3 } };
    s.sliceSettled(works, {
      result: {
        batches: [
          { batchIndex: 0, summary: summary(works[0]!) },
          { batchIndex: 1, failure: paid },
          { batchIndex: 2, failure: failure('server_error', true, 2) },
        ],
      },
    });
    expect(s.stats).toMatchObject({
      batchesDone: 1,
      batchesFailed: 2,
      inputTokens: 1 + 7,
      outputTokens: 3,
      errorCategories: { validation_error: 1, server_error: 1 },
    });
    expect(s.outcome).toBe('completed');
  });

  it('a fatal failure stops every start, and scheduling ends when the last slice in flight settles', () => {
    const s = scheduler({ batches: 16, concurrency: 2 });
    const [a, b] = s.fill();
    s.sliceSettled(b!, { result: { batches: b!.map((w) => ({ batchIndex: w.batchIndex, failure: failure('auth_error', true, 1) })) } });
    expect(s.fatal).toMatchObject({ category: 'auth_error' });
    expect(s.fill()).toEqual([]);
    expect(s.ended).toBe(false); // slice a is still running
    s.sliceSettled(a!, done(a!));
    expect({ ended: s.ended, outcome: s.outcome, batchesDone: s.stats.batchesDone, batchesFailed: s.stats.batchesFailed }).toEqual({
      ended: true,
      outcome: 'failed',
      batchesDone: 4,
      batchesFailed: 4,
    });
  });

  it('pause holds new work; resume starts it; settings apply to what starts next', () => {
    const s = scheduler({ batches: 12, concurrency: 1 });
    const works = s.fill()[0]!;
    s.pause();
    s.sliceSettled(works, done(works));
    expect(s.fill()).toEqual([]);
    expect(s.ended).toBe(false); // paused, not finished
    s.resume();
    s.applySettings({ concurrency: 2 });
    expect(indices(s.fill())).toEqual([
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(s.current).toMatchObject({ concurrency: 2, paused: false, requestTimeoutSeconds: 60 });
  });

  it('with a budget, one batch per slice until one is paid for; then it stops before the estimate passes the budget', () => {
    const s = scheduler({ batches: 40, concurrency: 2, budgetUsd: 10 });
    const first = s.fill();
    expect(indices(first)).toEqual([[0], [1]]);
    s.sliceSettled(first[0]!, { result: { batches: [{ batchIndex: 0, summary: summary(first[0]![0]!, 2) }] } }); // $2 a batch
    // $2 spent, 1 in flight: slices of 4 now, as long as spent + $2 x (in flight + 1) stays within
    // $10: batches 2, 3 and 4 ($2 + $2 x 4 = $10), not 5.
    expect(indices(s.fill())).toEqual([[2, 3, 4]]);
    expect(s.outcome).toBe('stopped');
    expect(s.stats.stopReason).toMatch(/budget: \$10 would be exceeded/);
  });

  it('ends the segment after batchesPerRun batches, once those in flight are done', () => {
    const s = scheduler({ batches: 20, concurrency: 2, batchesPerRun: 6 });
    const slices = s.fill();
    expect(indices(slices)).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
    expect(s.outcome).toBe('continue');
    s.sliceSettled(slices[0]!, done(slices[0]!));
    expect(s.ended).toBe(false);
    s.sliceSettled(slices[1]!, done(slices[1]!));
    expect(s.fill()).toEqual([]);
    expect(s.ended).toBe(true);
    expect(s.plan.nextBatch).toBe(6);
  });

  it('a cancelled run drops the interrupted batches of a slice without counting them as failed', () => {
    const s = scheduler({ batches: 4, concurrency: 1 });
    const works = s.fill()[0]!;
    s.cancel();
    expect(s.ended).toBe(false); // the slice in flight settles first
    s.sliceSettled(works, {
      result: {
        batches: works.map((w) =>
          w.batchIndex < 2 ? { batchIndex: w.batchIndex, summary: summary(w) } : { batchIndex: w.batchIndex, failure: failure('cancelled') },
        ),
      },
    });
    expect(s.stats).toMatchObject({ batchesDone: 2, batchesFailed: 0 });
    expect({ ended: s.ended, outcome: s.outcome }).toEqual({ ended: true, outcome: 'cancelled' });
  });
});
