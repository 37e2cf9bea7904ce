import type { LlmTestServer } from './llm-server';

/** The secret every test worker holds; tests assert it never reaches Temporal. */
export const SECRET_KEY = 'sk-test-SECRET-0123456789abcdef';

/** 100 distinct topic paths under 4 branches, as DeepFabric trees write them (root first). */
export function topicPaths(n = 100): string[][] {
  return Array.from({ length: n }, (_, i) => ['Programming', `Branch ${i % 4}`, `Subtopic ${i}`]);
}

/** A worker environment pointing both SDKs at the local LLM server. */
export function workerEnv(server: LlmTestServer, key = SECRET_KEY): Record<string, string> {
  return {
    OPENAI_API_KEY: key,
    OPENAI_BASE_URL: server.openaiBaseUrl,
    ANTHROPIC_API_KEY: key,
    ANTHROPIC_BASE_URL: server.anthropicBaseUrl,
  };
}

/** A config `deepfabric generate` accepts (as JSON, which is YAML): the CLI tests vary one field at a time. */
export const GOOD_CLI_CONFIG = {
  llm: { model: 'openai/gpt-4o-mini' },
  topics: {
    paths: [
      ['Python', 'Lists'],
      ['Python', 'Sets'],
    ],
  },
  generation: { instructions: 'Q&A', conversation: { type: 'basic' } },
  output: { num_samples: 6, samples_per_call: 3, save_as: 'out/dataset.jsonl', format: 'sharegpt' },
};
