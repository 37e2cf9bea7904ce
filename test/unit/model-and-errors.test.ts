import { parseModelName } from '../../src/config/model-spec';
import { classifyError, retryAfterMs } from '../../src/llm/classify-error';
import { toStrictJsonSchema } from '../../src/llm/json-schema';
import { batchSchema } from '../../src/dataset/example-schemas';

describe('parseModelName', () => {
  it('splits provider/model and keeps slashes inside the model id', () => {
    expect(parseModelName('openai/gpt-4o-mini')).toEqual({ ok: true, spec: { provider: 'openai', model: 'gpt-4o-mini' } });
    expect(parseModelName('openrouter/meta-llama/llama-3-8b')).toEqual({
      ok: true,
      spec: { provider: 'openrouter', model: 'meta-llama/llama-3-8b' },
    });
    expect(parseModelName('gpt-4', 'openai')).toEqual({ ok: true, spec: { provider: 'openai', model: 'gpt-4' } });
  });
  it('refuses unknown providers, listing the known ones', () => {
    const r = parseModelName('foo/bar');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/unknown provider "foo".*openai, anthropic, ollama/);
  });
  it('refuses a model without provider and an openai-compatible model without base URL', () => {
    expect(parseModelName('gpt-4').ok).toBe(false);
    expect(parseModelName('openai/').ok).toBe(false);
    const r = parseModelName('openai-compatible/my-model');
    expect(!r.ok && r.error).toMatch(/needs a baseUrl/);
    expect(parseModelName('openai-compatible/my-model', undefined, 'http://localhost:9000/v1').ok).toBe(true);
  });
});

describe('classifyError', () => {
  const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });
  class APIError extends Error {
    constructor(
      readonly status: number,
      readonly headers: { get(n: string): string | null },
    ) {
      super(`status ${status}`);
    }
  }
  class APIConnectionTimeoutError extends Error {}
  it.each([
    [401, 'auth_error', false],
    [403, 'auth_error', false],
    [429, 'rate_limit', true],
    [500, 'server_error', true],
    [503, 'server_error', true],
    [400, 'bad_request', false],
    [404, 'bad_request', false],
  ])('HTTP %i is %s (retryable: %s)', (status, category, retryable) => {
    const e = classifyError(new APIError(status, headers({})), 'openai', 'gpt-4o');
    expect(e.category).toBe(category);
    expect(e.retryable).toBe(retryable);
  });
  it('reads retry-after and names the key variable on a refused key', () => {
    expect(classifyError(new APIError(429, headers({ 'retry-after': '3' })), 'openai', 'm').retryAfterMs).toBe(3000);
    expect(classifyError(new APIError(401, headers({})), 'anthropic', 'm').message).toMatch(/anthropic refused the API key.*ANTHROPIC_API_KEY/);
    expect(classifyError(new APIConnectionTimeoutError('t'), 'openai', 'm').category).toBe('timeout');
  });
  it('parses retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(headers({}))).toBeUndefined();
  });
});

describe('toStrictJsonSchema', () => {
  it('marks every property required and closes every object (OpenAI strict mode)', () => {
    const s = toStrictJsonSchema(batchSchema('structured', 3)) as Record<string, any>;
    expect(s.type).toBe('object');
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(['examples']);
    expect(s.properties.examples.minItems).toBe(3);
    const item = s.properties.examples.items;
    expect(item.required.sort()).toEqual(['messages', 'metadata', 'reasoning_trace']);
    expect(item.properties.metadata.additionalProperties).toBe(false);
    expect(s.$schema).toBeUndefined();
  });
});

describe('a connection nobody answers', () => {
  class APIConnectionError extends Error {}
  const refused = () => new APIConnectionError('Connection error.', { cause: new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }) });
  it('is marked unreachable, names the endpoint without credentials, and stays a retryable server error', () => {
    const err = classifyError(refused(), 'openai', 'gpt-4o', 'http://user:pw@10.0.0.1:8000/v1');
    expect({ category: err.category, unreachable: err.unreachable, baseUrl: err.baseUrl, retryable: err.retryable }).toEqual({
      category: 'server_error',
      unreachable: true,
      baseUrl: 'http://10.0.0.1:8000/v1',
      retryable: true,
    });
    expect(err.message).toBe('openai/gpt-4o: could not connect to http://10.0.0.1:8000/v1 (ECONNREFUSED)');
  });
  it('a connection reset is not "unreachable" (something answered)', () => {
    const reset = new APIConnectionError('Connection error.', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    expect(classifyError(reset, 'openai', 'gpt-4o', 'http://h/v1').unreachable).toBe(false);
  });
});
