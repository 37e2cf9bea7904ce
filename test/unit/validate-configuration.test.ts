import { DataSetGenerator } from '../../src/client/data-set-generator';
import { ConfigurationError } from '../../src/errors';

describe('validateConfiguration', () => {
  const saved = process.env.OPENAI_API_KEY;
  beforeEach(() => (process.env.OPENAI_API_KEY = 'sk-present'));
  afterAll(() => (saved === undefined ? delete process.env.OPENAI_API_KEY : (process.env.OPENAI_API_KEY = saved)));

  it('is empty for a good configuration', () => {
    expect(new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', temperature: 0.8, requestTimeout: 30 }).validateConfiguration()).toEqual([]);
  });
  it.each([
    [{ modelName: 'openai/gpt-4', temperature: 2.5 }, /^temperature: .*(2|less)/],
    [{ modelName: 'foo/bar' }, /modelName: unknown provider "foo"/],
    [{ modelName: 'anthropic/claude-3-haiku' }, /apiKey: ANTHROPIC_API_KEY is not set/],
    [{ modelName: 'openai/gpt-4', defaultBatchSize: 0 }, /^defaultBatchSize: /],
    [{ modelName: 'openai/gpt-4', requestTimeout: 1 }, /requestTimeout: 1 s is shorter than a plausible model call/],
    [{}, /modelName: missing/],
    [{ modelName: 'openai/gpt-4', maxRetries: -1 }, /^maxRetries: /],
  ])('reports %j', (opts, message) => {
    delete process.env.ANTHROPIC_API_KEY;
    const issues = new DataSetGenerator(opts as never).validateConfiguration();
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(message);
  });
  it('refuses unknown options at construction, suggesting the right name', () => {
    expect(() => new DataSetGenerator({ modelName: 'openai/gpt-4', temprature: 0.5 } as never)).toThrow(ConfigurationError);
    expect(() => new DataSetGenerator({ modelName: 'openai/gpt-4', temprature: 0.5 } as never)).toThrow(
      /temprature: unknown option; did you mean "temperature"/,
    );
  });
  it('presets set their documented values', () => {
    const g = new DataSetGenerator({ modelName: 'openai/gpt-4' }).optimizeForThroughput({
      largeBatchSizes: true,
      parallelRequests: true,
      aggressiveTimeouts: false,
    });
    expect((g as any).raw).toMatchObject({ defaultBatchSize: 20, concurrency: 32 });
    const r = new DataSetGenerator({ modelName: 'openai/gpt-4' }).optimizeForReliability({
      conservativeBatchSizes: true,
      extendedTimeouts: true,
      maximumRetries: true,
    });
    expect((r as any).raw).toMatchObject({ defaultBatchSize: 2, concurrency: 4, requestTimeout: 180, maxRetries: 10, maxBackoffSeconds: 120 });
    expect(r.validateConfiguration()).toEqual([]);
  });
});
