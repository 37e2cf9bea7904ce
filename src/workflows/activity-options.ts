/** Activity options shared by the dataset run and the topic builds: timeouts, and the run's retry policy (config/retry-policy.ts). */
import type { ActivityOptions } from '@temporalio/common';
import { ActivityCancellationType } from '@temporalio/common';
import { temporalRetryPolicy } from '../config/retry-policy';
import type { RetryStrategy } from '../config/run-input';

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
  return {
    // The model call has its own timeout (requestTimeout); this one is the backstop for a stuck
    // attempt, plus the longest wait for a paced slot (heartbeats still catch a dead worker); a
    // slice's batches take their turns in its call slots, so it gets that much per batch.
    startToCloseTimeout: `${Math.ceil((requestTimeoutSeconds * 2 + 30 + pacedWaitSeconds) * batchesInSequence)}s`,
    heartbeatTimeout: `${heartbeatTimeoutSeconds}s`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: temporalRetryPolicy(retry),
  };
}
