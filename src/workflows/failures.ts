/**
 * What a failed slice activity means to a run: its error category (the Temporal failure type the
 * activity raised, see `src/activities/to-failure.ts`) and the details it carries. Retries are
 * decided in one place, src/config/retry-policy.ts.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import type { SliceResult } from '../activities/types';

/** Details a batch failure carries from the activity (provider, HTTP status, endpoint). */
interface FailureDetails {
  provider?: string | undefined;
  status?: number | null | undefined;
  baseUrl?: string | undefined;
  /** Tokens the batch's failed attempts cost (answers that failed validation). */
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  /** Attempts the batch made. */
  attempts?: number | undefined;
}

export interface BatchFailure {
  category: string;
  message: string;
  nonRetryable: boolean;
  details: FailureDetails;
}

/** A slice activity's failure (after Temporal's retries) as a category, its details, and the batches the slice had finished. */
export function describeSliceFailure(err: unknown): { failure: BatchFailure; finished: SliceResult | undefined } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as FailureDetails;
    const finished = cause.details?.[1] as SliceResult | undefined;
    return { failure: { category: cause.type || 'server_error', message: cause.message, nonRetryable: cause.nonRetryable === true, details }, finished };
  }
  if (cause instanceof TimeoutFailure)
    return { failure: { category: 'timeout', message: cause.message, nonRetryable: false, details: {} }, finished: undefined };
  const message = cause instanceof Error ? cause.message : String(cause);
  return { failure: { category: 'server_error', message, nonRetryable: false, details: {} }, finished: undefined };
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
