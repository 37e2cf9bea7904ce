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
