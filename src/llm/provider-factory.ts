import { PROVIDERS, type ModelSpec } from '../config/model-spec';
import { ModelError } from '../errors';
import { AnthropicProvider } from './anthropic-provider';
import { OpenAIProvider } from './openai-provider';
import type { LlmProvider } from './provider';
import type { BatchApi } from './batch-api';

/** Environment variables an adapter reads; the worker's environment is the only place keys live. */
export type Env = Record<string, string | undefined>;

/**
 * Builds adapters from specs, caching one per endpoint so HTTP connections are reused across
 * batches. Keys come from `env`, never from the spec (which is stored in workflow history).
 */
export class ProviderFactory {
  private readonly cache = new Map<string, LlmProvider>();
  constructor(private readonly env: Env = process.env) {}

  get(spec: ModelSpec): LlmProvider {
    const def = PROVIDERS[spec.provider];
    // Empty variables (as docker-compose passes unset ones) count as unset.
    const fromEnv = (name: string) => this.env[name] || undefined;
    const baseURL = spec.baseUrl ?? fromEnv(def.baseUrlEnv) ?? def.defaultBaseUrl;
    const key = `${spec.provider}|${spec.model}|${baseURL ?? ''}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const alt = 'altKeyEnv' in def ? def.altKeyEnv : undefined;
    const apiKey = fromEnv(def.keyEnv) ?? (alt ? fromEnv(alt) : undefined) ?? (def.keyRequired ? undefined : 'not-needed');
    if (!apiKey) {
      throw new ModelError(
        `${spec.provider}: no API key; set ${def.keyEnv}${alt ? ` (or ${alt})` : ''} in the worker's environment (keys are never sent through Temporal)`,
        { category: 'auth_error', provider: spec.provider },
      );
    }
    const provider: LlmProvider =
      def.protocol === 'anthropic'
        ? new AnthropicProvider(spec.model, { apiKey, baseURL })
        : new OpenAIProvider(spec.provider, spec.model, { apiKey, baseURL });
    this.cache.set(key, provider);
    return provider;
  }

  /** The batch API of `spec`'s provider; a `bad_request` ModelError for a provider without one. */
  batchApi(spec: ModelSpec): BatchApi {
    const provider = this.get(spec);
    if (!provider.batches || (spec.provider !== 'openai' && spec.provider !== 'anthropic')) {
      throw new ModelError(`${spec.provider}: no batch API here (call_mode: batch works with openai and anthropic)`, {
        category: 'bad_request',
        provider: spec.provider,
      });
    }
    return provider.batches();
  }
}
