/**
 * The dataset run's one model-call activity: the batches of one slice, whose calls share
 * `callsInFlight` slots, so a call that finishes hands its slot to the next call at once, in batch
 * order, instead of waiting for its batch to end and the workflow to schedule the next.
 *
 * Retries belong to Temporal. A slice in which a batch failed retryably (under the run's policy)
 * fails, and Temporal's retry policy retries it with its backoff and attempts: its finished batches
 * come back from their shards, its unfinished ones resume from their call checkpoints, so no call
 * is paid twice. A slice whose failures are all final (outside the policy, or ending the run)
 * reports them with its finished batches. A killed worker's slice is retried the same way (heartbeat
 * timeout).
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ProviderFactory } from '../llm/provider-factory';
import type { Store } from '../storage/store';
import { retryableUnder, RUN_FATAL_TYPES } from '../config/retry-policy';
import { makeBatchRunner } from './batch-runner';
import { CallSlots } from './call-slots';
import type { SliceBatchFailure, SliceInput, SliceResult } from './types';

export function makeGenerateSlice(providers: ProviderFactory, runStore: Store) {
  const runBatch = makeBatchRunner(providers, runStore);
  return async function generateSlice(input: SliceInput): Promise<SliceResult> {
    const ctx = Context.current();
    const slots = new CallSlots(input.callsInFlight);
    const { batches, callsInFlight: _slots, ...shared } = input;
    const done: number[] = [];
    const beat = setInterval(() => ctx.heartbeat({ slice: batches[0]!.batchIndex, batchesDone: done, callsBusy: slots.busy }), 1000);
    // A failure that ends the run (a refused key, an unreachable endpoint) starts no more calls here.
    const stop = (failure: SliceBatchFailure) => slots.close(new SliceStopped(failure));
    try {
      const results = await Promise.all(
        batches.map(async (b) => {
          try {
            const summary = await runBatch({ ...shared, ...b }, slots, (f) => stop(sliceFailure(f)));
            done.push(b.batchIndex);
            return { batchIndex: b.batchIndex, summary };
          } catch (err) {
            const failure = sliceFailure(err);
            if (RUN_FATAL_TYPES.includes(failure.category)) stop(failure);
            return { batchIndex: b.batchIndex, failure };
          }
        }),
      );
      return sliceOutcome({ batches: results }, input.retryOnErrors, ctx.info.attempt);
    } finally {
      clearInterval(beat);
    }
  };
}

/**
 * The slice's result when every failure in it is final; otherwise the failure Temporal retries: the
 * first retryable batch failure's type (matched by the policy's `nonRetryableErrorTypes`), the
 * provider's retry-after as the next delay, and every batch's outcome in its details (read by the
 * workflow when this was the last attempt). A cancelled slice (the run cancelled, the worker
 * shutting down) reports what it finished; the others are reported `cancelled`.
 */
export function sliceOutcome(result: SliceResult, retryOnErrors: readonly string[], attempt: number): SliceResult {
  const failed = result.batches.flatMap((b) => (b.failure ? [{ batchIndex: b.batchIndex, failure: b.failure }] : []));
  if (failed.some((b) => RUN_FATAL_TYPES.includes(b.failure.category))) return result;
  const retried = failed.filter((b) => b.failure.category !== 'cancelled' && retryableUnder(b.failure, retryOnErrors));
  if (!retried.length) return result;
  const first = retried[0]!;
  const wait = Math.max(0, ...retried.map((b) => b.failure.retryAfterMs ?? 0));
  throw ApplicationFailure.create({
    type: first.failure.category,
    message: `${retried.length} of ${result.batches.length} batches failed (batch ${first.batchIndex}: ${first.failure.message})`,
    details: [{ ...first.failure.details, attempts: attempt }, result],
    ...(wait > 0 ? { nextRetryDelay: Math.ceil(wait) } : {}),
  });
}

/** Why the calls of a slice that had not started were not made: another batch's failure ended the run. */
class SliceStopped extends Error {
  constructor(readonly failure: SliceBatchFailure) {
    super(`not started: ${failure.message}`);
  }
}

/** A batch's failure inside a slice, as the workflow reads it. */
function sliceFailure(err: unknown): SliceBatchFailure {
  if (err instanceof SliceStopped) return { ...err.failure, message: err.message };
  if (err instanceof CancelledFailure) return { category: 'cancelled', message: err.message || 'cancelled', nonRetryable: false, details: {} };
  if (err instanceof ApplicationFailure) {
    const details = (err.details?.[0] ?? {}) as SliceBatchFailure['details'];
    const retryAfter = typeof err.nextRetryDelay === 'number' ? { retryAfterMs: err.nextRetryDelay } : {};
    return { category: err.type || 'server_error', message: err.message, nonRetryable: err.nonRetryable === true, details, ...retryAfter };
  }
  return { category: 'server_error', message: err instanceof Error ? err.message : String(err), nonRetryable: false, details: {} };
}
