/**
 * What a failed batch activity means to a run: its error category (the Temporal failure type the
 * activity raised, see `src/activities/to-failure.ts`) and whether it ends the whole run.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { FATAL_CATEGORIES } from '../errors';

/** Failure types that end the whole run: retrying another batch cannot fix them. */
export const RUN_FATAL_TYPES: readonly string[] = [...FATAL_CATEGORIES, 'configuration_error'];

/** Details a batch failure carries from the activity (provider, HTTP status, endpoint). */
export interface FailureDetails {
  provider?: string;
  status?: number | null;
  baseUrl?: string;
  /** Tokens the batch's failed attempts cost (answers that failed validation). */
  inputTokens?: number;
  outputTokens?: number;
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
