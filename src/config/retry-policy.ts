/**
 * The one place retries are decided. The run's `RetryStrategy` (the seed's words) becomes Temporal's
 * retry policy of every model-call activity (`temporalRetryPolicy`, used by
 * workflows/activity-options.ts), and Temporal retries, backs off and gives up. `retryableUnder` is
 * the same rule read by a slice activity to choose between failing (Temporal retries it) and
 * reporting a batch's failure as final; a test checks the two agree on every category.
 */
import type { RetryPolicy } from '@temporalio/common';
import { ERROR_CATEGORIES, FATAL_CATEGORIES } from '../errors';
import type { RetryStrategy } from './run-input';

/** Failure types that end the whole run: retrying another batch cannot fix them. */
export const RUN_FATAL_TYPES: readonly string[] = [...FATAL_CATEGORIES, 'configuration_error'];

/** Temporal's retry policy for the strategy: categories outside `retryOnErrors`, and the fatal ones, fail at once. */
export function temporalRetryPolicy(retry: RetryStrategy): RetryPolicy {
  const retryable = new Set<string>(retry.retryOnErrors);
  return {
    maximumAttempts: retry.maxRetries + 1,
    initialInterval: `${retry.initialBackoffSeconds}s`,
    backoffCoefficient: retry.backoffMultiplier,
    maximumInterval: `${retry.maxBackoffSeconds}s`,
    nonRetryableErrorTypes: [...ERROR_CATEGORIES.filter((c) => !retryable.has(c)), ...RUN_FATAL_TYPES],
  };
}

/**
 * Whether the policy retries a failure: not marked non-retryable, not fatal to the run, and either
 * in `retryOnErrors` or not a model error category at all (a store or network failure).
 */
export function retryableUnder(f: { category: string; nonRetryable: boolean }, retryOnErrors: readonly string[]): boolean {
  if (f.nonRetryable || RUN_FATAL_TYPES.includes(f.category)) return false;
  return !(ERROR_CATEGORIES as readonly string[]).includes(f.category) || retryOnErrors.includes(f.category);
}
