import { ApplicationFailure } from '@temporalio/activity';
import type { ModelError } from '../errors';

/** Turns a classified model error into the Temporal failure retry policies match on. */
export function toFailure(err: ModelError): ApplicationFailure {
  return ApplicationFailure.create({
    message: err.message,
    type: err.category,
    nonRetryable: !err.retryable,
    details: [{ provider: err.provider, status: err.status ?? null, ...(err.baseUrl ? { baseUrl: err.baseUrl } : {}) }],
    ...(err.retryAfterMs !== undefined ? { nextRetryDelay: Math.max(1, Math.ceil(err.retryAfterMs)) } : {}),
  });
}
