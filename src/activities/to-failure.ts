import { ApplicationFailure } from '@temporalio/activity';
import type { ModelError } from '../errors';

/**
 * Turns a classified model error into the Temporal failure retry policies match on. `tokens`: what
 * the batch's failed attempts so far cost (answers that failed validation), counted by the workflow
 * if this attempt is the batch's last.
 */
export function toFailure(err: ModelError, tokens?: { inputTokens: number; outputTokens: number; attempts?: number }): ApplicationFailure {
  return ApplicationFailure.create({
    message: err.message,
    type: err.category,
    nonRetryable: !err.retryable,
    details: [
      {
        provider: err.provider,
        status: err.status ?? null,
        ...(err.baseUrl ? { baseUrl: err.baseUrl } : {}),
        ...(tokens && (tokens.inputTokens || tokens.outputTokens) ? { inputTokens: tokens.inputTokens, outputTokens: tokens.outputTokens } : {}),
        ...(tokens?.attempts !== undefined ? { attempts: tokens.attempts } : {}),
      },
    ],
    ...(err.retryAfterMs !== undefined ? { nextRetryDelay: Math.max(1, Math.ceil(err.retryAfterMs)) } : {}),
  });
}
