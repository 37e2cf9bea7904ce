/**
 * What a run that ended short means to its user: the seed's error class (schema failures are a
 * `ValidationError`, provider failures a `ModelError`), and a message that names the category, the
 * provider, the endpoint where it matters, and what to do. Pure: unit-tested without a server.
 */
import { MIN_ACCEPTANCE } from '../workflows/batch-plan';
import { ERROR_CATEGORIES, ModelError, RunFailedError, ValidationError, type ErrorCategory } from '../errors';
import { providerKeyName } from '../config/model-spec';
import type { RunResult } from '../workflows/dataset-run';
import type { FailureNote } from '../workflows/stats';

const SCHEMA_CATEGORIES = ['validation_error', 'json_parse_error'];

/** What to do about a category of failure (the note says where it came from). */
export function adviceFor(category: string, note: FailureNote | undefined): string {
  const where = note?.baseUrl ? ` at ${note.baseUrl}` : '';
  const who = `${note?.provider ?? 'the provider'}${where}`;
  switch (category) {
    case 'auth_error':
      return `${who} refused the API key: set ${note?.provider ? providerKeyName(note.provider) : "the provider's key (e.g. OPENAI_API_KEY)"} in the worker's environment`;
    case 'bad_request':
      return `${who} rejected the request: check llm.model and the generation settings`;
    case 'rate_limit':
      return `${who} kept answering 429 after every retry: lower generation.concurrency or raise max_retries`;
    case 'timeout':
      return `${who} did not answer in time: raise generation.request_timeout or lower generation.concurrency`;
    case 'validation_error':
    case 'json_parse_error':
      return `the model's answers kept failing the record schema: try a stronger model, a simpler conversation type or clearer instructions`;
    case 'unreachable':
      if (note && /\(bad port\)/.test(note.message))
        return `${note.baseUrl ?? 'the endpoint'} uses a port that fetch refuses to connect to (a "bad port" of the Fetch standard, such as 9 or 6000): check llm.base_url (or the provider's *_BASE_URL) and serve the model on another port`;
      return `nothing answered at ${note?.baseUrl ?? 'the endpoint'}: check llm.base_url (or the provider's *_BASE_URL in the worker's environment) and that the server is up`;
    default:
      if (note && /could not connect/.test(note.message)) {
        return `nothing answered at ${note.baseUrl ?? 'the endpoint'}: check llm.base_url (or the provider's *_BASE_URL in the worker's environment) and that the server is up`;
      }
      return `${who} kept failing (${category}${note?.status ? `, HTTP ${note.status}` : ''}): try again later; the same command resumes the run`;
  }
}

/** The most frequent failure category of a run, with its last recorded failure. */
function mainFailure(stats: RunResult['stats']): { category: string; count: number; note: FailureNote | undefined } | undefined {
  const entries = Object.entries(stats.errorCategories).filter(([c]) => stats.lastFailures?.[c]);
  const ranked = (entries.length ? entries : Object.entries(stats.errorCategories)).sort((a, b) => b[1] - a[1]);
  const top = ranked[0];
  return top ? { category: top[0], count: top[1], note: stats.lastFailures?.[top[0]] } : undefined;
}

/** The error a run that ended short of its target raises (`createData`), with the partial dataset's path. */
export function incompleteRunError(result: RunResult): Error {
  const s = result.stats;
  const summary = `run ${result.runId} ended with ${result.records} of ${s.target} examples (partial dataset: ${result.datasetPath})`;
  const run = { runId: result.runId, datasetPath: result.datasetPath };
  const rejected = Object.entries(s.rejected);
  if (rejected.length && s.batchesFailed === 0) {
    const reasons = rejected.map(([reason, n]) => `${n} x ${reason}`);
    const share = s.requested > 0 ? s.accepted / s.requested : 0;
    const numbers = `the filters accepted ${s.accepted} of ${s.requested} examples asked for (${(share * 100).toFixed(1)}%)`;
    const advice =
      share < MIN_ACCEPTANCE
        ? `below ${MIN_ACCEPTANCE * 100}%, the target would take more than ${Math.round(1 / MIN_ACCEPTANCE)} requests per example, so the run stopped topping up. Relax the filters`
        : 'Raise maxExtraBatchFraction or relax the filters';
    return new ValidationError(`${summary}; generated content was rejected: ${reasons.join(', ')}; ${numbers}: ${advice}`, reasons, run);
  }
  const main = mainFailure(s);
  if (!main) return new RunFailedError(`${summary}`, result.runId, 'incomplete');
  const failed = `${s.batchesFailed} batches failed after their retries (${Object.entries(s.errorCategories)
    .map(([c, n]) => `${c}: ${n}`)
    .join(', ')})`;
  const message = `${summary}; ${failed}. ${adviceFor(main.category, main.note)}`;
  if (SCHEMA_CATEGORIES.includes(main.category)) return new ValidationError(message, [main.note?.message ?? main.category], run);
  if ((ERROR_CATEGORIES as readonly string[]).includes(main.category)) {
    return new ModelError(message, {
      category: main.category as ErrorCategory,
      provider: main.note?.provider ?? 'model',
      status: main.note?.status ?? undefined,
      baseUrl: main.note?.baseUrl,
      ...run,
    });
  }
  return new RunFailedError(message, result.runId, 'incomplete');
}
