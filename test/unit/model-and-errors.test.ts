import { parseModelName } from '../../src/config/model-spec';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { classifyError, retryAfterMs } from '../../src/llm/classify-error';
import { toStrictJsonSchema } from '../../src/llm/json-schema';
import { batchSchema } from '../../src/dataset/example-schemas';
import { applyFormatter } from '../../src/dataset/formatters';
import { ConfigurationError, DataSetGeneratorError, ERROR_CATEGORIES, ERROR_CODES } from '../../src/errors';
import { openStore } from '../../src/storage/open-store';
import { parseTopicPaths } from '../../src/topics/topic-paths-file';
import { prunePaths } from '../../src/topics/topic-tools';
import { CallOutcomeSchema, parseCheckpoint } from '../../src/activities/types';

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
  // The SDKs' own error values, as their clients throw them.
  const api = (sdk: typeof OpenAI | typeof Anthropic, status: number, h: Record<string, string> = {}) =>
    sdk.APIError.generate(status, { error: { message: `status ${status}` } }, undefined, new Headers(h));
  it.each([
    [401, 'auth_error', false],
    [403, 'auth_error', false],
    [429, 'rate_limit', true],
    [500, 'server_error', true],
    [503, 'server_error', true],
    [400, 'bad_request', false],
    [404, 'bad_request', false],
  ])('HTTP %i is %s (retryable: %s), from either SDK', (status, category, retryable) => {
    for (const sdk of [OpenAI, Anthropic]) {
      const e = classifyError(api(sdk, status), 'p', 'm', undefined, sdk);
      expect({ category: e.category, retryable: e.retryable }).toEqual({ category, retryable });
    }
  });
  it('reads retry-after, names the key variable on a refused key, tells timeouts and connection failures apart', () => {
    expect(classifyError(api(OpenAI, 429, { 'retry-after': '3' }), 'openai', 'm', undefined, OpenAI).retryAfterMs).toBe(3000);
    expect(classifyError(api(Anthropic, 401), 'anthropic', 'm', undefined, Anthropic).message).toMatch(/anthropic refused the API key.*ANTHROPIC_API_KEY/);
    expect(classifyError(new OpenAI.APIConnectionTimeoutError(), 'openai', 'm', undefined, OpenAI).category).toBe('timeout');
    const refused = new Anthropic.APIConnectionError({
      message: 'Connection error.',
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const e = classifyError(refused, 'anthropic', 'm', 'http://user:pw@localhost:1/v1?k=1', Anthropic);
    expect({ category: e.category, unreachable: e.unreachable, baseUrl: e.baseUrl }).toEqual({
      category: 'server_error',
      unreachable: true,
      baseUrl: 'http://localhost:1/v1',
    });
    // Another SDK's error is not mistaken for this one's: it falls through to a plain server error.
    expect(classifyError(api(Anthropic, 401), 'openai', 'm', undefined, OpenAI).category).toBe('server_error');
  });
  it('parses retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
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
  const refused = () =>
    new OpenAI.APIConnectionError({
      message: 'Connection error.',
      cause: new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
    });
  it('is marked unreachable, names the endpoint without credentials, and stays a retryable server error', () => {
    const err = classifyError(refused(), 'openai', 'gpt-4o', 'http://user:pw@10.0.0.1:8000/v1', OpenAI);
    expect({ category: err.category, unreachable: err.unreachable, baseUrl: err.baseUrl, retryable: err.retryable }).toEqual({
      category: 'server_error',
      unreachable: true,
      baseUrl: 'http://10.0.0.1:8000/v1',
      retryable: true,
    });
    expect(err.message).toBe('openai/gpt-4o: could not connect to http://10.0.0.1:8000/v1 (ECONNREFUSED)');
  });
  it('a connection fetch refuses without an errno ("bad port", as for port 9) is unreachable, and says why', () => {
    const badPort = new OpenAI.APIConnectionError({ message: 'Connection error.', cause: new TypeError('fetch failed', { cause: new Error('bad port') }) });
    const err = classifyError(badPort, 'openai', 'gpt-4o', 'http://127.0.0.1:9/v1', OpenAI);
    expect({ unreachable: err.unreachable, message: err.message }).toEqual({
      unreachable: true,
      message: 'openai/gpt-4o: could not connect to http://127.0.0.1:9/v1 (bad port)',
    });
  });
  it('a connection reset is not "unreachable" (something answered)', () => {
    const reset = new OpenAI.APIConnectionError({ message: 'Connection error.', cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    expect(classifyError(reset, 'openai', 'gpt-4o', 'http://h/v1', OpenAI).unreachable).toBe(false);
  });
});

describe('one error family', () => {
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(DataSetGeneratorError);
      return (err as DataSetGeneratorError).code;
    }
    throw new Error('expected a throw');
  };

  test('every model-call category is a code; bad input files and flags are configuration errors; other failures carry their own code', async () => {
    for (const c of ERROR_CATEGORIES) expect(ERROR_CODES).toContain(c);
    expect(codeOf(() => parseTopicPaths('{"path": 3}\n', 'topics.jsonl'))).toBe('configuration_error');
    expect(codeOf(() => prunePaths([['a', 'b']], { level: -1 }))).toBe('configuration_error');
    expect(codeOf(() => applyFormatter('sharegpt', { text: 'no messages' }))).toBe('format_error');
    expect(codeOf(() => applyFormatter('chatml', { text: 'no messages' }))).toBe('configuration_error'); // DeepFabric 3.13's chatml skips it: refused
    await expect(openStore({ dataDir: '/tmp', url: 'mysql://x' })).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('checkpoints are parsed on read', () => {
  test('a valid checkpoint comes back typed; a damaged one counts as absent and says why', () => {
    const good = { records: [{ messages: [] }], rejected: {}, inputTokens: 3, outputTokens: 4 };
    expect(parseCheckpoint(CallOutcomeSchema, good)).toEqual(good);
    const why: string[] = [];
    expect(parseCheckpoint(CallOutcomeSchema, { records: 'oops', rejected: {}, inputTokens: 3 }, (w) => why.push(w))).toBeUndefined();
    expect(why).toEqual(['records: Invalid input: expected array, received string; outputTokens: Invalid input: expected number, received undefined']);
    expect(parseCheckpoint(CallOutcomeSchema, undefined, (w) => why.push(w))).toBeUndefined();
    expect(why).toHaveLength(1);
  });
});
