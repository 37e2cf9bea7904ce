/**
 * The error family of the generator. Every error has a stable `code` that scripts can branch on;
 * model errors also say whether a retry can help. Temporal failures carry the same code as their
 * `type` (see `src/activities/to-failure.ts`), so retry policies and stats name them the same way.
 */

/** Error categories of one LLM call; they are Temporal failure types and the keys of `errorCategories`. */
export const ERROR_CATEGORIES = [
  'rate_limit',
  'timeout',
  'server_error',
  'auth_error',
  'bad_request',
  'json_parse_error',
  'validation_error',
  'content_filtered',
  /** Nothing answered at the endpoint (connection refused, unknown host) before any batch of the run succeeded. */
  'unreachable',
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** Categories a retry cannot fix: the run stops at the first one instead of paying for more calls. */
export const FATAL_CATEGORIES: readonly ErrorCategory[] = ['auth_error', 'bad_request', 'unreachable'];

/**
 * Every code an error of this package can carry: the model-call categories above, then the rest.
 * Scripts branch on these; the CLI's exit status follows them (configuration errors exit 2).
 */
export const ERROR_CODES = [
  ...ERROR_CATEGORIES,
  /** Anything not named below. */
  'generator_error',
  /** Bad options, config files, flags or input files, found before anything is paid for. */
  'configuration_error',
  /** A run failed; a run was cancelled; a run ended short of its target. */
  'run_failed',
  'cancelled',
  'incomplete',
  /** A run has no dataset to export yet. */
  'no_dataset',
  /** `validate --check-api`: a stage's model did not answer. */
  'api_check_failed',
  /** The Hugging Face push failed (the dataset stays saved). */
  'upload_failed',
  /** A record has no shape a format can read. */
  'format_error',
  /** The run store (data folder or PostgreSQL) is unusable: unreadable, unreachable, or locked by a stuck process. */
  'store_error',
  /** The embedded Temporal dev server could not start. */
  'dev_server_error',
  /** A tool service (Spin) failed to execute a tool. */
  'tool_service_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Root of every error this package throws on purpose. */
export class DataSetGeneratorError extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'generator_error', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataSetGeneratorError';
    this.code = code;
  }
}

/** Bad options, config files, CLI flags or input files, found before anything starts. */
export class ConfigurationError extends DataSetGeneratorError {
  /** Each problem as "field: what is wrong; what to do". */
  readonly issues: string[];
  constructor(message: string, issues: string[] = [message], options?: { cause?: unknown }) {
    super(message, 'configuration_error', options);
    this.name = 'ConfigurationError';
    this.issues = issues;
  }
}

/** A model API call failed (HTTP error, timeout, refused key, unusable answer). */
export class ModelError extends DataSetGeneratorError {
  readonly category: ErrorCategory;
  readonly retryable: boolean;
  readonly provider: string;
  readonly status: number | undefined;
  /** Provider's `retry-after`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /** The endpoint called (credentials stripped), when known. */
  readonly baseUrl: string | undefined;
  /** The run that ended on this error, and where its partial dataset is (set when a run failed). */
  readonly runId: string | undefined;
  readonly datasetPath: string | undefined;
  /** The connection was refused or the host unknown: nothing is listening at `baseUrl`. */
  readonly unreachable: boolean;
  /** Tokens the provider billed for the call when it answered but the answer was unusable. */
  readonly usage: { inputTokens: number; outputTokens: number } | undefined;
  constructor(
    message: string,
    opts: {
      unreachable?: boolean;
      category: ErrorCategory;
      provider: string;
      status?: number | undefined;
      retryAfterMs?: number | undefined;
      baseUrl?: string | undefined;
      runId?: string | undefined;
      datasetPath?: string | undefined;
      usage?: { inputTokens: number; outputTokens: number } | undefined;
      cause?: unknown;
    },
  ) {
    super(message, opts.category, { cause: opts.cause });
    this.name = 'ModelError';
    this.usage = opts.usage;
    this.category = opts.category;
    this.provider = opts.provider;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.baseUrl = opts.baseUrl;
    this.runId = opts.runId;
    this.datasetPath = opts.datasetPath;
    this.unreachable = opts.unreachable === true;
    this.retryable = !FATAL_CATEGORIES.includes(opts.category);
  }

  /** The same error, its message led by what made the call (`judge anthropic/claude-…: …`). */
  within(what: string): ModelError {
    return new ModelError(`${what}: ${this.message}`, {
      category: this.category,
      provider: this.provider,
      status: this.status,
      retryAfterMs: this.retryAfterMs,
      baseUrl: this.baseUrl,
      unreachable: this.unreachable,
      usage: this.usage,
      cause: this,
    });
  }
}

/** Generated content failed its schema or a content filter. */
export class ValidationError extends DataSetGeneratorError {
  readonly issues: string[];
  /** The run that ended short on this, and where its partial dataset is (set when a run ended). */
  readonly runId: string | undefined;
  readonly datasetPath: string | undefined;
  constructor(message: string, issues: string[] = [message], run?: { runId: string; datasetPath?: string | undefined }) {
    super(message, 'validation_error');
    this.name = 'ValidationError';
    this.issues = issues;
    this.runId = run?.runId;
    this.datasetPath = run?.datasetPath;
  }
}

/** A run ended without reaching its target, or failed; carries the run id so it can be inspected. */
export class RunFailedError extends DataSetGeneratorError {
  readonly runId: string;
  constructor(message: string, runId: string, code: 'run_failed' | 'cancelled' | 'incomplete' = 'run_failed', options?: { cause?: unknown }) {
    super(message, code, options);
    this.name = 'RunFailedError';
    this.runId = runId;
  }
}
