import type { BatchApi } from './batch-api';

/** One structured-output request to a model. */
export interface GenerateRequest {
  system: string;
  prompt: string;
  /** JSON schema of the answer (an object), built from a zod schema. */
  jsonSchema: Record<string, unknown>;
  schemaName: string;
  temperature: number;
  maxTokens: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra HTTP headers (e.g. a batch id for tracing on a proxy). */
  headers?: Record<string, string>;
}

/** Token counts as the provider reported them. */
interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface GenerateResult {
  /** The parsed JSON answer (not yet validated against the example schema). */
  object: unknown;
  usage: TokenUsage;
  finishReason: string;
  /** The requests per minute the provider announced on this answer (its rate-limit headers), if any. */
  announcedRpm?: number | undefined;
  /** The tokens per minute it announced, if any. */
  announcedTpm?: number | undefined;
}

/**
 * The one interface every provider adapter implements. Adapters translate their SDK's errors into
 * `ModelError` (see `classify-error.ts`); nothing outside `src/llm` imports an SDK.
 */
export interface LlmProvider {
  readonly name: string;
  readonly model: string;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** The provider's batch API (OpenAI, Anthropic); absent where there is none. */
  batches?(): BatchApi;
}
