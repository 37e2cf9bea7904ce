/**
 * Runs the local LLM test server on its own, for the quickstart and benchmarks:
 *   tsx test/support/llm-server-main.ts [--port 8787] [--latency-ms 0]
 * Point the SDKs at it with OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 or ANTHROPIC_BASE_URL=http://127.0.0.1:PORT.
 */
import { LlmTestServer } from './llm-server';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const server = await new LlmTestServer().start(arg('port', 8787));
  server.configure({ latencyMs: arg('latency-ms', 0) });
  process.stdout.write(`local LLM server on ${server.url} (OpenAI: ${server.openaiBaseUrl}, Anthropic: ${server.anthropicBaseUrl})\n`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
