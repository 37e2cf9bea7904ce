import { z } from 'zod';

/**
 * Providers a `provider/model` string may name. Every one but `anthropic` speaks OpenAI's
 * chat-completions protocol, so they share one adapter and differ only in base URL and key.
 */
export const PROVIDERS = {
  openai: { protocol: 'openai', keyEnv: 'OPENAI_API_KEY', baseUrlEnv: 'OPENAI_BASE_URL', defaultBaseUrl: undefined, keyRequired: true },
  anthropic: { protocol: 'anthropic', keyEnv: 'ANTHROPIC_API_KEY', baseUrlEnv: 'ANTHROPIC_BASE_URL', defaultBaseUrl: undefined, keyRequired: true },
  ollama: { protocol: 'openai', keyEnv: 'OLLAMA_API_KEY', baseUrlEnv: 'OLLAMA_BASE_URL', defaultBaseUrl: 'http://localhost:11434/v1', keyRequired: false },
  openrouter: {
    protocol: 'openai',
    keyEnv: 'OPENROUTER_API_KEY',
    baseUrlEnv: 'OPENROUTER_BASE_URL',
    defaultBaseUrl: 'https://openrouter.ai/api/v1',
    keyRequired: true,
  },
  vllm: { protocol: 'openai', keyEnv: 'VLLM_API_KEY', baseUrlEnv: 'VLLM_BASE_URL', defaultBaseUrl: 'http://localhost:8000/v1', keyRequired: false },
  // Google's OpenAI-compatible endpoint; the key may also be in GOOGLE_API_KEY (as DeepFabric reads it).
  gemini: {
    protocol: 'openai',
    keyEnv: 'GEMINI_API_KEY',
    altKeyEnv: 'GOOGLE_API_KEY',
    baseUrlEnv: 'GEMINI_BASE_URL',
    defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai/',
    keyRequired: true,
  },
  together: {
    protocol: 'openai',
    keyEnv: 'TOGETHER_API_KEY',
    baseUrlEnv: 'TOGETHER_BASE_URL',
    defaultBaseUrl: 'https://api.together.xyz/v1',
    keyRequired: true,
  },
  groq: { protocol: 'openai', keyEnv: 'GROQ_API_KEY', baseUrlEnv: 'GROQ_BASE_URL', defaultBaseUrl: 'https://api.groq.com/openai/v1', keyRequired: true },
  'openai-compatible': {
    protocol: 'openai',
    keyEnv: 'OPENAI_COMPATIBLE_API_KEY',
    baseUrlEnv: 'OPENAI_COMPATIBLE_BASE_URL',
    defaultBaseUrl: undefined,
    keyRequired: false,
  },
} as const;

type ProviderName = keyof typeof PROVIDERS;
const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];

/** The environment variable(s) that hold a provider's key (`OPENAI_API_KEY`, `GEMINI_API_KEY (or GOOGLE_API_KEY)`, ...). */
export function providerKeyName(provider: string): string {
  const def = (PROVIDERS as Record<string, { keyEnv: string; altKeyEnv?: string }>)[provider];
  if (!def) return `${provider.toUpperCase().replace(/-/g, '_')}_API_KEY`;
  return def.altKeyEnv ? `${def.keyEnv} (or ${def.altKeyEnv})` : def.keyEnv;
}

/** A model as the worker needs it: which adapter, which model id, which endpoint. Never a key. */
export const ModelSpecSchema = z.object({
  provider: z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]]),
  model: z.string().min(1),
  baseUrl: z.string().url().optional(),
});
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

/** The result of parsing: a spec, or a message that says what was wrong and what to write instead. */
type ParsedModel = { ok: true; spec: ModelSpec } | { ok: false; error: string };

/**
 * Parses `provider/model` (`openai/gpt-4o-mini`, `openrouter/meta-llama/llama-3-8b`), or a bare
 * model id when `provider` is given separately, as the seed allows.
 */
export function parseModelName(modelName: string, provider?: string, baseUrl?: string): ParsedModel {
  const trimmed = modelName.trim();
  let providerName = provider?.trim();
  let model = trimmed;
  const slash = trimmed.indexOf('/');
  if (slash > 0 && (providerName === undefined || trimmed.slice(0, slash) === providerName)) {
    providerName = trimmed.slice(0, slash);
    model = trimmed.slice(slash + 1);
  }
  if (!providerName) {
    return {
      ok: false,
      error: `model "${modelName}" names no provider; write it as provider/model, e.g. "openai/gpt-4o-mini" or "anthropic/claude-3-5-haiku-latest"`,
    };
  }
  if (!(providerName in PROVIDERS)) {
    return {
      ok: false,
      error: `unknown provider "${providerName}" in model "${modelName}"; known providers: ${PROVIDER_NAMES.join(', ')} (use openai-compatible with a baseUrl for any other endpoint)`,
    };
  }
  if (!model) {
    return { ok: false, error: `model "${modelName}" has no model id after "${providerName}/"` };
  }
  if (providerName === 'openai-compatible' && !baseUrl) {
    return { ok: false, error: 'provider openai-compatible needs a baseUrl (e.g. http://localhost:8000/v1)' };
  }
  const spec: ModelSpec = { provider: providerName as ProviderName, model };
  if (baseUrl) spec.baseUrl = baseUrl;
  return { ok: true, spec };
}

/** `provider/model`, as shown in the UI, logs and manifests. */
export function formatModel(spec: ModelSpec): string {
  return `${spec.provider}/${spec.model}`;
}
