/** Activity options shared by the dataset run and the topic builds: one retry-policy builder. */
import type { ActivityOptions } from '@temporalio/common';
import { ActivityCancellationType } from '@temporalio/common';
import type { RetryStrategy } from '../config/run-input';
import { ERROR_CATEGORIES } from '../errors';
import { RUN_FATAL_TYPES } from './failures';

/** The longest a paced call waits for its slot (a 429 storm slows pacing down, and the calls waiting are booked at that spacing). */
export const MAX_PACED_WAIT_SECONDS = 900;

/**
 * Options of an activity that makes one model call (a batch, a topic expansion): the seed's retry
 * strategy as Temporal's retry policy; categories outside `retryOnErrors`, and the fatal ones, fail
 * at once.
 */
export function modelCallActivityOptions(
  retry: RetryStrategy,
  requestTimeoutSeconds: number,
  heartbeatTimeoutSeconds: number,
  pacedWaitSeconds = 0,
  batchesInSequence = 1,
): ActivityOptions {
  const retryable = new Set<string>(retry.retryOnErrors);
  return {
    // The model call has its own timeout (requestTimeout); this one is the backstop for a stuck
    // attempt, plus the longest wait for a paced slot (heartbeats still catch a dead worker); a
    // slice's batches take their turns in its call slots, so it gets that much per batch.
    startToCloseTimeout: `${Math.ceil((requestTimeoutSeconds * 2 + 30 + pacedWaitSeconds) * batchesInSequence)}s`,
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: retry.maxRetries + 1,
      initialInterval: `${retry.initialBackoffSeconds}s`,
      backoffCoefficient: retry.backoffMultiplier,
      maximumInterval: `${retry.maxBackoffSeconds}s`,
      nonRetryableErrorTypes: [...ERROR_CATEGORIES.filter((c) => !retryable.has(c)), ...RUN_FATAL_TYPES],
    },
  };
}
