import { advance, newPlanCursor, nextWork, plannedBatches, type PlanLimits } from '../../src/workflows/batch-plan';
import { retryableUnder } from '../../src/config/retry-policy';
import { modelCallActivityOptions } from '../../src/workflows/activity-options';
import { ERROR_CATEGORIES } from '../../src/errors';
import type { RetryStrategy } from '../../src/config/run-input';

const limits: PlanLimits = { numSteps: 10, examplesPerBatch: 4, maxExtraBatches: 2 };
const none = { accepted: 0, requested: 0, requestedInFlight: 0, rejected: 0 };

describe('batch plan', () => {
  it('plans ceil(numSteps / batchSize) batches over consecutive slots, the last one short', () => {
    const cursor = newPlanCursor(limits);
    const works = [];
    for (let i = 0; i < plannedBatches(limits); i++) {
      const w = nextWork(cursor, limits, none)!;
      works.push(w);
      advance(cursor, limits, w);
    }
    expect(works).toEqual([
      { batchIndex: 0, firstExample: 0, count: 4 },
      { batchIndex: 1, firstExample: 4, count: 4 },
      { batchIndex: 2, firstExample: 8, count: 2 },
    ]);
    expect(cursor).toEqual({ nextBatch: 3, nextExample: 10, extraBatchesUsed: 0 });
  });

  it('after the plan, asks nothing while accepted plus in-flight examples reach the target', () => {
    const cursor = { nextBatch: 3, nextExample: 10, extraBatchesUsed: 0 };
    expect(nextWork(cursor, limits, { accepted: 10, requested: 10, requestedInFlight: 0, rejected: 0 })).toBeUndefined();
    expect(nextWork(cursor, limits, { accepted: 7, requested: 8, requestedInFlight: 3, rejected: 1 })).toBeUndefined();
  });

  it('tops up what is missing, scaled by the acceptance rate so far, from fresh slots', () => {
    const cursor = { nextBatch: 3, nextExample: 10, extraBatchesUsed: 0 };
    // 8 of 10 accepted: 2 missing at 80% acceptance -> ask for 3.
    const w = nextWork(cursor, limits, { accepted: 8, requested: 10, requestedInFlight: 0, rejected: 2 })!;
    expect(w).toEqual({ batchIndex: 3, firstExample: 10, count: 3 });
    advance(cursor, limits, w);
    expect(cursor).toEqual({ nextBatch: 4, nextExample: 13, extraBatchesUsed: 1 });
    // Never more than batchSize in one top-up.
    expect(nextWork(cursor, limits, { accepted: 5, requested: 13, requestedInFlight: 0, rejected: 8 })!.count).toBe(4);
  });

  it('stops topping up when the extra examples reach maxExtraBatches x batchSize plus the rejected ones', () => {
    // 8 extra allowed + 3 rejected = 11; 11 asked for already (slots 10..20).
    const cursor = { nextBatch: 6, nextExample: 21, extraBatchesUsed: 3 };
    expect(nextWork(cursor, limits, { accepted: 5, requested: 21, requestedInFlight: 0, rejected: 3 })).toBeUndefined();
    expect(nextWork({ ...cursor, nextExample: 20 }, limits, { accepted: 5, requested: 20, requestedInFlight: 0, rejected: 3 })?.count).toBe(1);
  });
});

describe("the run's retry policy, as a slice reads it", () => {
  const failure = (category: string, nonRetryable = false) => ({ category, nonRetryable });
  const retryOnErrors = ['server_error', 'rate_limit'];

  it('retries what Temporal would: not marked non-retryable, not fatal, in retryOnErrors or not a model category', () => {
    expect(retryableUnder(failure('server_error'), retryOnErrors)).toBe(true);
    expect(retryableUnder(failure('server_error', true), retryOnErrors)).toBe(false);
    expect(retryableUnder(failure('validation_error'), retryOnErrors)).toBe(false); // not in retryOnErrors
    expect(retryableUnder(failure('auth_error'), retryOnErrors)).toBe(false); // ends the run
    expect(retryableUnder(failure('configuration_error'), retryOnErrors)).toBe(false);
    expect(retryableUnder(failure('Error'), retryOnErrors)).toBe(true); // a store or network failure
  });

  it("is the same rule as the slice activity's retry policy (its nonRetryableErrorTypes)", () => {
    const retry = {
      maxRetries: 3,
      backoffMultiplier: 2,
      initialBackoffSeconds: 1,
      maxBackoffSeconds: 3,
      retryOnErrors: retryOnErrors as RetryStrategy['retryOnErrors'],
    };
    const nonRetryable = modelCallActivityOptions(retry, 60, 30).retry!.nonRetryableErrorTypes!;
    for (const category of [...ERROR_CATEGORIES, 'configuration_error', 'store_error'])
      expect({ category, retried: retryableUnder(failure(category), retryOnErrors) }).toEqual({ category, retried: !nonRetryable.includes(category) });
  });
});

describe('top-ups by acceptance (the seed example: a filter rejecting ~20%)', () => {
  /** Runs batches one at a time through `pick`; each example is accepted with probability `p` (seeded). */
  function simulate(pick: typeof nextWork, limits: PlanLimits, p: number, seed: number): { accepted: number; requested: number } {
    let a = seed >>> 0;
    const rand = () => (a = (a * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    const cursor = newPlanCursor(limits);
    let accepted = 0;
    let requested = 0;
    for (let guard = 0; guard < 10_000; guard++) {
      const w = pick(cursor, limits, { accepted, requested, requestedInFlight: 0, rejected: requested - accepted });
      if (!w) break;
      advance(cursor, limits, w);
      requested += w.count;
      for (let i = 0; i < w.count; i++) if (rand() < p) accepted++;
    }
    return { accepted: Math.min(accepted, limits.numSteps), requested };
  }
  // 40 examples, 5 per call and 8 calls per batch: one planned batch, one extra batch of budget (fraction 0.5).
  const seedLimits: PlanLimits = { numSteps: 40, examplesPerBatch: 40, maxExtraBatches: 1 };

  it('always reaches the target at 80% acceptance (counting top-up batches ended at 38-39 of 40 on some seeds)', () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(seeds.filter((s) => simulate(nextWork, seedLimits, 0.8, s).accepted < 40)).toEqual([]);
  });
  it('reaches the target at 30% acceptance too, asking for no more than the rejections paid for', () => {
    for (let s = 1; s <= 50; s++) {
      const r = simulate(nextWork, seedLimits, 0.3, s);
      expect(r.accepted).toBe(40);
      expect(r.requested).toBeLessThan(40 / 0.1);
    }
  });
  it('stops after the planned examples when (almost) nothing is accepted: below 10% the target is out of reach', () => {
    expect(simulate(nextWork, seedLimits, 0, 1)).toEqual({ accepted: 0, requested: 40 });
    const low = simulate(nextWork, { numSteps: 100, examplesPerBatch: 10, maxExtraBatches: 5 }, 0.05, 3);
    expect(low.accepted).toBeLessThan(100);
    expect(low.requested).toBeLessThanOrEqual(100 + 10 * 5 + 100); // planned + the user's extra + what the rejections granted before the floor
  });
  it('sizes a top-up by the acceptance seen, never past the budget left', () => {
    const limits: PlanLimits = { numSteps: 10, examplesPerBatch: 10, maxExtraBatches: 1 };
    const cursor = newPlanCursor(limits);
    advance(cursor, limits, nextWork(cursor, limits, none)!);
    // 5 of 10 accepted: 5 missing at 50% -> ask for 10; budget 10 + 5 rejected.
    expect(nextWork(cursor, limits, { accepted: 5, requested: 10, requestedInFlight: 0, rejected: 5 })).toEqual({
      batchIndex: 1,
      firstExample: 10,
      count: 10,
    });
    cursor.nextExample = 24; // 14 extra examples asked for already: 1 left of the 15
    expect(nextWork(cursor, limits, { accepted: 5, requested: 24, requestedInFlight: 0, rejected: 5 })?.count).toBe(1);
  });
});
