/**
 * What a failed batch activity means to a run: its error category (the Temporal failure type the
 * activity raised, see `src/activities/to-failure.ts`) and whether it ends the whole run.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import type { RetryStrategy } from '../config/run-input';
import { ERROR_CATEGORIES, FATAL_CATEGORIES } from '../errors';

/** Failure types that end the whole run: retrying another batch cannot fix them. */
export const RUN_FATAL_TYPES: readonly string[] = [...FATAL_CATEGORIES, 'configuration_error'];

/** Details a batch failure carries from the activity (provider, HTTP status, endpoint). */
export interface FailureDetails {
  provider?: string | undefined;
  status?: number | null | undefined;
  baseUrl?: string | undefined;
  /** Tokens the batch's failed attempts cost (answers that failed validation). */
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
}

export interface BatchFailure {
  category: string;
  message: string;
  nonRetryable: boolean;
  details: FailureDetails;
}

/** Reads a batch activity's failure (after Temporal's retries) as a category and its details. */
export function describeBatchFailure(err: unknown): BatchFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as FailureDetails;
    return { category: cause.type || 'server_error', message: cause.message, nonRetryable: cause.nonRetryable === true, details };
  }
  if (cause instanceof TimeoutFailure) return { category: 'timeout', message: cause.message, nonRetryable: false, details: {} };
  return { category: 'server_error', message: cause instanceof Error ? cause.message : String(cause), nonRetryable: false, details: {} };
}

/**
 * The failure a run ends with when a batch hits a fatal category. It keeps the batch's details
 * (provider, status, endpoint) so clients rebuild a typed error without parsing the message.
 */
export function runFatalFailure(runId: string, f: BatchFailure): ApplicationFailure {
  return ApplicationFailure.create({
    message: `run ${runId} stopped: ${f.message}`,
    type: f.category,
    nonRetryable: true,
    details: [{ runId, category: f.category, ...f.details }],
  });
}

/**
 * Whether a batch that failed inside a slice is retried on its own: exactly when Temporal's retry
 * policy of a batch activity would retry it (see `modelCallActivityOptions`): not marked
 * non-retryable, not fatal to the run, and either in `retryOnErrors` or not a model error category
 * at all (a store or network failure), with attempts left after the one it made.
 */
export function retriedOnItsOwn(f: BatchFailure, retry: RetryStrategy, attemptsMade: number): boolean {
  if (f.nonRetryable || RUN_FATAL_TYPES.includes(f.category)) return false;
  if ((ERROR_CATEGORIES as readonly string[]).includes(f.category) && !retry.retryOnErrors.includes(f.category as never)) return false;
  return attemptsMade < retry.maxRetries + 1;
}

/**
 * The retry policy of a batch retried on its own after `attemptsMade` attempts in its slice: the
 * attempts left, and backoff continuing where the slice's attempt left it (the workflow waited the
 * first interval already), so the waits are Temporal's initial x multiplier^n as for any batch.
 */
export function retryAfterSlice(retry: RetryStrategy, attemptsMade: number): { strategy: RetryStrategy; firstDelayMs: number } {
  const firstDelayMs = Math.min(retry.maxBackoffSeconds, retry.initialBackoffSeconds * retry.backoffMultiplier ** (attemptsMade - 1)) * 1000;
  const next = Math.min(retry.maxBackoffSeconds, retry.initialBackoffSeconds * retry.backoffMultiplier ** attemptsMade);
  return { strategy: { ...retry, maxRetries: retry.maxRetries - attemptsMade, initialBackoffSeconds: next }, firstDelayMs };
}
