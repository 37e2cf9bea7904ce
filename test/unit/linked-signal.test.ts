import { getEventListeners } from 'node:events';
import { AnthropicProvider } from '../../src/llm/anthropic-provider';
import { OpenAIProvider } from '../../src/llm/openai-provider';
import { linkedSignal } from '../../src/llm/linked-signal';
import { LlmTestServer } from '../support/llm-server';

const request = (signal: AbortSignal) => ({
  system: 's',
  prompt: 'p',
  jsonSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false },
  schemaName: 'ping',
  temperature: 0,
  maxTokens: 16,
  timeoutMs: 10_000,
  signal,
});

describe("one activity's cancellation signal shared by many model calls", () => {
  let server: LlmTestServer;
  beforeAll(async () => {
    server = await new LlmTestServer().start();
  });
  afterAll(() => server.stop());

  it('carries no listener of any finished call (the SDKs never remove theirs): no MaxListenersExceededWarning after 30 calls', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const parent = new AbortController().signal;
      const openai = new OpenAIProvider('openai', 'gpt-4o-mini', { apiKey: 'k', baseURL: server.openaiBaseUrl });
      const anthropic = new AnthropicProvider('claude-x', { apiKey: 'k', baseURL: server.anthropicBaseUrl });
      for (let i = 0; i < 15; i++) await Promise.all([openai.generate(request(parent)), anthropic.generate(request(parent))]);
      expect(getEventListeners(parent, 'abort')).toHaveLength(0);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([]);
      expect(server.count('ok')).toBe(30);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a linked signal aborts with its parent, and once released no longer listens', () => {
    const parent = new AbortController();
    const a = linkedSignal(parent.signal);
    const b = linkedSignal(parent.signal);
    b.release();
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    parent.abort(new Error('cancelled'));
    expect({ a: a.signal?.aborted, b: b.signal?.aborted }).toEqual({ a: true, b: false });
    expect(linkedSignal(parent.signal).signal?.aborted).toBe(true); // an already aborted parent
  });
});
