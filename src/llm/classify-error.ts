import { providerKeyName } from '../config/model-spec';
import { ModelError, type ErrorCategory } from '../errors';

/** Reads `retry-after-ms` / `retry-after` (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function categoryForStatus(status: number): ErrorCategory {
  if (status === 401 || status === 403) return 'auth_error';
  if (status === 429) return 'rate_limit';
  if (status === 408 || status === 504) return 'timeout';
  if (status >= 500) return 'server_error';
  return 'bad_request';
}

/** The error classes of one SDK (openai and @anthropic-ai/sdk export the same four). */
interface SdkErrors {
  APIError: abstract new (...args: never[]) => Error;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
}

/**
 * Classifies anything an SDK call threw into a `ModelError` with a stable category, by the SDK's
 * own error classes: a timeout or abort, a connection failure (unreachable when refused or DNS),
 * or an `APIError` by its HTTP status (with `retry-after`).
 */
export function classifyError(err: unknown, provider: string, model: string, baseUrl: string | undefined, sdk: SdkErrors): ModelError {
  if (err instanceof ModelError) return err;
  const endpoint = baseUrl ? safeUrl(baseUrl) : undefined;
  const e = err as { name?: string; status?: number; headers?: { get(n: string): string | null }; message?: string };
  const detail = e?.message ?? String(err);
  if (err instanceof sdk.APIConnectionTimeoutError || err instanceof sdk.APIUserAbortError || e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return new ModelError(`${provider}/${model}: the request timed out (${detail})`, { category: 'timeout', provider, baseUrl: endpoint, cause: err });
  }
  if (err instanceof sdk.APIError && typeof e.status === 'number') {
    const status = e.status;
    const category = categoryForStatus(status);
    const after = retryAfterMs(e.headers);
    let message: string;
    switch (category) {
      case 'auth_error':
        message = `${provider} refused the API key (HTTP ${status}) for ${provider}/${model}: check ${providerKeyName(provider)} in the worker's environment`;
        break;
      case 'rate_limit':
        message = `${provider}/${model}: rate limited (HTTP 429${after !== undefined ? `, retry after ${Math.round(after)} ms` : ''})`;
        break;
      case 'bad_request':
        message = `${provider}/${model}: the request was rejected (HTTP ${status}): ${detail}`;
        break;
      default:
        message = `${provider}/${model}: HTTP ${status}: ${detail}`;
    }
    return new ModelError(message, { category, provider, status, retryAfterMs: after, baseUrl: endpoint, cause: err });
  }
  if (err instanceof sdk.APIConnectionError) {
    const cause = errorCode(err);
    // Whatever the errno (or none: fetch refuses a "bad port" such as 9 without one), a connection
    // that was never made is unreachable; only a reset or broken pipe says the endpoint answered once.
    const unreachable = cause === undefined || !CONNECTED_ERRNOS.has(cause);
    const reason = cause ?? innermostMessage(err) ?? detail;
    return new ModelError(`${provider}/${model}: could not connect to ${endpoint ?? 'the endpoint'} (${reason})`, {
      category: 'server_error',
      provider,
      baseUrl: endpoint,
      unreachable,
      cause: err,
    });
  }
  return new ModelError(`${provider}/${model}: ${detail}`, { category: 'server_error', provider, baseUrl: endpoint, cause: err });
}

/** Errors of a connection that was made (the endpoint exists; the call may be retried). */
const CONNECTED_ERRNOS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The deepest message down an error's cause chain ("bad port" under "fetch failed" under "Connection error."). */
function innermostMessage(err: unknown): string | undefined {
  let message: string | undefined;
  for (let e = err as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.message === 'string' && e.message) message = e.message;
  }
  return message;
}

/** The first system error code (ECONNREFUSED, ENOTFOUND, ...) down an error's cause chain. */
function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^(E|UND_ERR_)[A-Z_]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** A URL without user info, query or fragment (they can hold credentials); the input when it does not parse. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`.replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}
