/**
 * Runs the local LLM test server on its own, for the quickstart and benchmarks:
 *   tsx test/support/llm-server-main.ts [--port 0] [--latency-ms 0] [--batch-processing-ms 0] [--placeholders] [--optional-as-null]
 * Point the SDKs at it with OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 or ANTHROPIC_BASE_URL=http://127.0.0.1:PORT.
 */
import { LlmTestServer } from './llm-server';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const port = arg('port', 0);
  const server = await new LlmTestServer().start(port).catch((err: NodeJS.ErrnoException) => {
    process.stderr.write(err.code === 'EADDRINUSE' ? `port ${port} is taken: pass another --port, or 0 for any free port\n` : `${err.message}\n`);
    process.exit(1);
  });
  // Realistic text by default (people look at the quickstart's data); --placeholders for unique markers.
  server.configure({
    latencyMs: arg('latency-ms', 0),
    realistic: !process.argv.includes('--placeholders'),
    optionalAsNull: process.argv.includes('--optional-as-null') && ((field: string, prompt: string) => !(field === 'reasoning' && /reason/i.test(prompt))),
    ...(process.argv.includes('--optional-as-null') ? { minArrayItems: 2, emptyArrays: ['tool_calls', 'connections'] } : {}),
  });
  // Its batch APIs answer a provider batch's lines over this long (OpenAI's Batch API, Anthropic's Message Batches).
  server.batches.configure({ processingMs: arg('batch-processing-ms', 0) });
  process.stdout.write(`local LLM server on ${server.url} (OpenAI: ${server.openaiBaseUrl}, Anthropic: ${server.anthropicBaseUrl})\n`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
