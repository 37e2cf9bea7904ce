/**
 * The dataset run's scheduling rules without Temporal (src/workflows/run-scheduler.ts): slice
 * sizes, retries of a failed batch of a slice on its own, fatal stops, pause, budget, the segment's
 * end. The workflow only turns these decisions into commands (its event-order rule is tested in
 * test/workflow/activation-grouping.test.ts, on the real sandbox).
 */
import type { BatchSummary } from '../../src/activities/types';
import { newPlanCursor, plannedBatches, type BatchWork, type PlanLimits } from '../../src/workflows/batch-plan';
import { RunScheduler, type Start } from '../../src/workflows/run-scheduler';
import { newStats } from '../../src/workflows/stats';

const retry = { maxRetries: 2, backoffMultiplier: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 60, retryOnErrors: ['server_error' as const] };

function scheduler(opts: { batches: number; concurrency: number; batchesPerSlice?: number; batchesPerRun?: number; budgetUsd?: number; withSlices?: boolean }) {
  const limits: PlanLimits = { numSteps: opts.batches, batchSize: 1, maxExtraBatches: 0 };
  const price = { inputPerMTokUsd: 1_000_000, outputPerMTokUsd: 0, source: 'test' }; // $1 per input token
  return new RunScheduler(
    {
      limits,
      callsPerBatch: 1,
      batchesPerSlice: opts.withSlices === false ? undefined : (opts.batchesPerSlice ?? 4),
      batchesPerRun: opts.batchesPerRun ?? 1000,
      price,
    },
    newStats(opts.batches, plannedBatches(limits), 0),
    newPlanCursor(limits),
    { concurrency: opts.concurrency, paused: false, retry, budgetUsd: opts.budgetUsd },
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
const failure = (category: string, nonRetryable = false) => ({ category, message: `${category}!`, nonRetryable, details: {} });
const indices = (starts: Start[]) =>
  starts.map((s) => (s.kind === 'slice' ? s.works.map((w) => w.batchIndex) : s.kind === 'batch' ? [s.work.batchIndex] : [`retry ${s.retry.work.batchIndex}`]));
const sliceOf = (s: Start) => (s.kind === 'slice' ? s.works : []);

describe('run scheduler', () => {
  it('spreads the planned batches over the slots, at most batchesPerSlice each, so the last slices end together', () => {
    expect(indices(scheduler({ batches: 48, concurrency: 6 }).fill())).toEqual([0, 4, 8, 12, 16, 20].map((b) => [b, b + 1, b + 2, b + 3]));
    // 10 batches, 4 slots: slices of 3 (ceil(10 / 4)), the last one what is left.
    expect(indices(scheduler({ batches: 10, concurrency: 4 }).fill())).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    // A run started before slices: one batch per activity.
    expect(indices(scheduler({ batches: 10, concurrency: 2, withSlices: false }).fill())).toEqual([[0], [1]]);
  });

  it('a failed batch of a slice is retried on its own, before new work, with the backoff and attempts it has left', () => {
    const s = scheduler({ batches: 8, concurrency: 1 });
    const [first] = s.fill();
    const works = sliceOf(first!);
    expect(works.map((w) => w.batchIndex)).toEqual([0, 1, 2, 3]);
    const result = {
      batches: works.map((w) => (w.batchIndex === 2 ? { batchIndex: 2, failure: failure('server_error') } : { batchIndex: w.batchIndex, summary: summary(w) })),
    };
    expect(s.sliceSettled(works, { result })).toBe(true);
    expect(s.stats.batchesDone).toBe(3);
    expect(s.batchesInFlight).toBe(0); // batch 2 waits for a slot: not running
    const [next] = s.fill();
    expect(next).toEqual({ kind: 'retry', retry: { work: works[2], attemptsMade: 1, failure: failure('server_error'), delayMs: 1000 } });
    expect(s.batchesInFlight).toBe(1);
    // It fails again after its own retries: counted once, with every attempt of the policy (3 calls,
    // beside the 3 of its slice-mates).
    s.batchSettled(works[2]!, { failure: failure('server_error') }, 1);
    expect(s.stats).toMatchObject({ batchesFailed: 1, calls: 6, retries: 2, errorCategories: { server_error: 1 } });
    expect(indices(s.fill())).toEqual([[4, 5, 6, 7]]);
  });

  it('a 429 retry waits at least the provider retry-after; categories outside retryOnErrors and non-retryable ones fail at once', () => {
    const s = scheduler({ batches: 3, concurrency: 1 });
    const works = sliceOf(s.fill()[0]!);
    s.sliceSettled(works, {
      result: {
        batches: [
          { batchIndex: 0, failure: { ...failure('server_error'), retryAfterMs: 5000 } },
          { batchIndex: 1, failure: failure('validation_error') },
          { batchIndex: 2, failure: failure('server_error', true) },
        ],
      },
    });
    expect(s.stats).toMatchObject({ batchesFailed: 2, errorCategories: { validation_error: 1, server_error: 1 } });
    const [retried] = s.fill();
    expect(retried).toMatchObject({ kind: 'retry', retry: { delayMs: 5000 } });
  });

  it('a fatal failure stops every start; retries waiting are counted as failed, and scheduling ends', () => {
    const s = scheduler({ batches: 16, concurrency: 2 });
    const [a, b] = s.fill().map(sliceOf);
    s.sliceSettled(a!, { result: { batches: a!.map((w) => ({ batchIndex: w.batchIndex, failure: failure('server_error') })) } });
    expect(s.fill().map((x) => x.kind)).toEqual(['retry']); // one slot free: the first retry
    s.sliceSettled(b!, { result: { batches: b!.map((w) => ({ batchIndex: w.batchIndex, failure: failure('auth_error', true) })) } });
    expect(s.fatal).toMatchObject({ category: 'auth_error' });
    expect(s.fill()).toEqual([]);
    // Slice b's 4 batches and the 3 retries still waiting: failed; the running retry ends the segment.
    expect(s.stats.batchesFailed).toBe(7);
    expect(s.ended).toBe(false);
    s.batchSettled(a![0]!, { failure: failure('auth_error', true) }, 1);
    s.maybeEnd();
    expect(s.ended).toBe(true);
  });

  it('a slice that failed as a whole (a worker that kept dying) sends each of its batches to be retried on its own', () => {
    const s = scheduler({ batches: 8, concurrency: 1 });
    const works = sliceOf(s.fill()[0]!);
    s.sliceSettled(works, { failure: failure('server_error') });
    expect(s.stats.batchesFailed).toBe(0);
    expect(indices(s.fill())).toEqual([['retry 0']]);
    // A category the run does not retry (timeout is not in this run's retryOnErrors): counted as failed.
    const t = scheduler({ batches: 8, concurrency: 1 });
    t.sliceSettled(sliceOf(t.fill()[0]!), { failure: failure('timeout') });
    expect(t.stats.batchesFailed).toBe(4);
  });

  it('pause holds new work and queued retries; resume starts them, retries first', () => {
    const s = scheduler({ batches: 8, concurrency: 1 });
    const works = sliceOf(s.fill()[0]!);
    s.paused = true;
    s.sliceSettled(works, {
      result: {
        batches: works.map((w) =>
          w.batchIndex === 0 ? { batchIndex: 0, failure: failure('server_error') } : { batchIndex: w.batchIndex, summary: summary(w) },
        ),
      },
    });
    expect(s.fill()).toEqual([]);
    expect(s.ended).toBe(false); // a retry is waiting
    s.paused = false;
    expect(s.fill().map((x) => x.kind)).toEqual(['retry']);
  });

  it('with a budget, one batch per slice until one is paid for; then it stops before the estimate passes the budget', () => {
    const s = scheduler({ batches: 40, concurrency: 2, budgetUsd: 10 });
    const first = s.fill();
    expect(indices(first)).toEqual([[0], [1]]);
    s.sliceSettled(sliceOf(first[0]!), { result: { batches: [{ batchIndex: 0, summary: summary(sliceOf(first[0]!)[0]!, 2) }] } }); // $2 a batch
    // $2 spent, 1 in flight: slices of 4 now, as long as spent + $2 x (in flight + 1) stays within
    // $10: batches 2, 3 and 4 ($2 + $2 x 4 = $10), not 5.
    const next = s.fill();
    expect(indices(next)).toEqual([[2, 3, 4]]);
    expect(s.stopRequested).toBe(true);
    expect(s.stats.stopReason).toMatch(/budget: \$10 would be exceeded/);
  });

  it('ends the segment after batchesPerRun batches, once those in flight are done', () => {
    const s = scheduler({ batches: 20, concurrency: 2, batchesPerRun: 6 });
    const starts = s.fill();
    expect(indices(starts)).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
    expect(s.segmentFull).toBe(true);
    for (const st of starts) s.sliceSettled(sliceOf(st), { result: { batches: sliceOf(st).map((w) => ({ batchIndex: w.batchIndex, summary: summary(w) })) } });
    expect(s.fill()).toEqual([]);
    expect(s.ended).toBe(true);
    expect(s.plan.nextBatch).toBe(6);
  });

  it('a cancelled run drops the interrupted batches of a slice without counting them as failed', () => {
    const s = scheduler({ batches: 4, concurrency: 1 });
    const works = sliceOf(s.fill()[0]!);
    s.cancelRequested = true;
    s.sliceSettled(works, {
      result: {
        batches: works.map((w) =>
          w.batchIndex < 2 ? { batchIndex: w.batchIndex, summary: summary(w) } : { batchIndex: w.batchIndex, failure: failure('cancelled') },
        ),
      },
    });
    expect(s.stats).toMatchObject({ batchesDone: 2, batchesFailed: 0 });
    s.maybeEnd();
    expect(s.ended).toBe(true);
  });
});
