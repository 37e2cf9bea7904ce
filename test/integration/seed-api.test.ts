import { Tree } from '../../src/topics/tree';
import { useIntegrationEnv } from '../support/integration-env';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { Dataset } from '../../src/dataset/dataset';
import { RecordSchemas } from '../../src/dataset/example-schemas';
import { ConfigurationError, ModelError, ValidationError } from '../../src/errors';
import { CONVERSATION_TYPES } from '../../src/config/run-input';
import { topicPaths } from '../support/fixtures';
import { waitFor } from '../support/temporal';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = useIntegrationEnv('seed');

const make = (extra: Record<string, unknown> = {}) =>
  new DataSetGenerator({
    instructions: 'Create detailed educational content',
    generationSystemPrompt: 'You are an expert instructor',
    modelName: 'openai/gpt-4',
    temperature: 0.8,
    dataDir: env.dataDir,
    initialBackoffSeconds: 0.1,
    maxBackoffSeconds: 1,
    ...extra,
    temporal: { client: env.client, taskQueue: env.taskQueue, workerInProcess: true },
  });

it('a content filter removes short examples, counts them by reason, and the run still reaches its target', async () => {
  // Every other example is short.
  env.llm.configure({ textLength: (_call, index) => (index % 2 === 0 ? 10 : 150) });
  const generator = make({ maxExtraBatchFraction: 2 });
  generator.addContentFilter((content) => {
    if (content.length < 100) return [false, 'Content too short'];
    if (content.toLowerCase().includes('inappropriate')) return [false, 'Inappropriate content detected'];
    return [true, 'Acceptable'];
  });
  const dataset = await generator.createData({ numSteps: 20, batchSize: 4, topics: topicPaths(20), runName: 'filter' });
  expect(dataset.length).toBe(20);
  for (const r of dataset) {
    const text = (r.messages as { role: string; content: string }[])
      .filter((m) => m.role !== 'system')
      .map((m) => m.content)
      .join('\n');
    expect(text.length).toBeGreaterThanOrEqual(100);
  }
  const stats = generator.getGenerationStats()!;
  expect(stats.rejected['Content too short']).toBeGreaterThan(0);
  expect(stats.accepted).toBe(20);
  expect(stats.batchesDone).toBeGreaterThan(5); // planned 5 + top-ups
});

it("the seed's quality_filter example reaches its 40 exactly with the default extra budget, though later calls are rejected more often", async () => {
  // 20% of the first calls' examples are short, 50% from the ninth call on: the top-up meets a worse
  // rate than the planned batch did (counting top-up batches, the run ended at 37 of 40).
  env.llm.reset();
  env.llm.configure({ textLength: (callNo, index) => ((callNo >= 9 ? index % 2 === 0 : index === 0) ? 10 : 150) });
  const generator = make({ concurrency: 8 });
  generator.addContentFilter((content) => (content.length < 100 ? [false, 'Content too short'] : [true, 'Acceptable']));
  const dataset = await generator.createData({ numSteps: 40, batchSize: 5, topics: topicPaths(40), runName: 'seed-quality' });
  const stats = generator.getGenerationStats()!;
  expect({ records: dataset.length, accepted: stats.accepted }).toEqual({ records: 40, accepted: 40 });
  expect(stats.rejected['Content too short']).toBeGreaterThan(8);
});

it('raises ValidationError, naming the reasons, when rejected content leaves the run short', async () => {
  const generator = make({ maxExtraBatchFraction: 0.5 });
  generator.addContentFilter(() => [false, 'Inappropriate content detected']);
  const err = await generator.createData({ numSteps: 4, batchSize: 2, topics: topicPaths(4), runName: 'all-rejected' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).message).toMatch(/ended with 0 of 4 examples .*Inappropriate content detected/);
  expect((err as ValidationError).message).toMatch(/the filters accepted 0 of 4 examples asked for \(0\.0%\): below 10%.*Relax the filters/);
  // The planned batch only (2 calls of 2 examples at concurrency 8): nothing accepted, so no top-up is paid for.
  expect(env.llm.calls).toHaveLength(2);
});

it('setRetryStrategy with retryOnErrors [timeout] does not retry a 500', async () => {
  env.llm.configure({ script: ['500'] });
  const generator = make({ concurrency: 1 });
  generator.setRetryStrategy({ maxRetries: 5, backoffMultiplier: 2.0, maxBackoffSeconds: 60, retryOnErrors: ['timeout'] });
  const run = await generator.startData({ numSteps: 10, batchSize: 5, topics: topicPaths(10), runName: 'no-retry-500' });
  const result = await run.result();
  // The batch that met the 500 (whichever of the slice's two reached the one call slot first) was not called again.
  const failed = env.llm.calls.find((c) => c.outcome === '500')!;
  expect(env.llm.calls.filter((c) => c.batch === failed.batch).map((c) => c.outcome)).toEqual(['500']);
  expect(result.stats.batchesFailed).toBe(1);
  expect(result.stats.errorCategories.server_error).toBe(1);
  // The failed batch's examples were made up by a top-up batch.
  expect(result.records).toBe(10);
});

describe('runs that end short raise what the seed says, with the run id and the partial dataset', () => {
  it('answers that always break the schema: ValidationError', async () => {
    env.llm.configure({ failureRates: { bad_schema: 1 } });
    const generator = make({ concurrency: 2, maxRetries: 1, maxExtraBatchFraction: 0 });
    const err = await generator.createData({ numSteps: 4, batchSize: 2, topics: topicPaths(4), runName: 'always-bad-schema' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.runId).toMatch(/^always-bad-schema-/);
    expect(v.datasetPath!.endsWith(path.join('runs', v.runId!, 'dataset.jsonl'))).toBe(true);
    expect((await Dataset.load(v.datasetPath!)).length).toBe(0);
    expect(v.message).toMatch(/validation_error: 2.*record schema/);
  });

  it('a 500 on every call: ModelError naming the provider and the endpoint', async () => {
    env.llm.configure({ failureRates: { '500': 1 } });
    const generator = make({ concurrency: 2, maxRetries: 1, maxExtraBatchFraction: 0 });
    const err = await generator.createData({ numSteps: 4, batchSize: 2, topics: topicPaths(4), runName: 'always-500' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    const m = err as ModelError;
    expect({ category: m.category, provider: m.provider, baseUrl: m.baseUrl }).toEqual({
      category: 'server_error',
      provider: 'openai',
      baseUrl: env.llm.openaiBaseUrl.replace(/\/$/, ''),
    });
    expect(m.runId).toMatch(/^always-500-/);
    expect(m.datasetPath!.endsWith(path.join('runs', m.runId!, 'dataset.jsonl'))).toBe(true);
    expect(env.llm.calls).toHaveLength(4); // 2 batches x (1 try + 1 retry)
  });
});

it('a schema failure is retried with the validation error in the prompt', async () => {
  env.llm.configure({ script: ['bad_schema'] });
  const generator = make({ concurrency: 1 });
  const run = await generator.startData({ numSteps: 5, batchSize: 5, topics: topicPaths(5), runName: 'schema-retry' });
  const result = await run.result();
  expect(env.llm.calls.map((c) => c.outcome)).toEqual(['bad_schema', 'ok']);
  expect(env.llm.calls[0]!.prompt).not.toContain('previous answer was rejected');
  expect(env.llm.calls[1]!.prompt).toMatch(/previous answer was rejected: .*schema/);
  expect(result.stats.errorCategories.validation_error).toBe(1);
  expect(result.records).toBe(5);
});

it('enableMonitoring prints progress and getGenerationStats shows it mid-run', async () => {
  env.llm.configure({ latencyMs: 200 });
  const generator = make({ concurrency: 2 });
  generator.enableMonitoring({ verbose: true });
  const writes: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const done = generator.createData({ numSteps: 40, batchSize: 2, topics: topicPaths(40), runName: 'monitor' });
    const mid = await waitFor(
      () => {
        const s = generator.getGenerationStats();
        return s && s.accepted > 0 && s.accepted < 40 ? s : undefined;
      },
      30_000,
      50,
    );
    await done;
    expect(mid.successRate).toBeGreaterThan(0);
    expect(mid.examplesPerSecond).toBeGreaterThan(0);
    expect(generator.getGenerationStats()!.accepted).toBe(40);
    expect(writes.some((w) => /\d+\/40 examples.*success 100\.0%/.test(w))).toBe(true);
  } finally {
    process.stderr.write = orig;
  }
});

it('createBatch returns batchSize examples, and incremental generation checkpoints with Dataset.extend/save', async () => {
  const generator = make();
  const batch = await generator.createBatch({
    topics: [
      ['Python', 'Lists'],
      ['Python', 'Sets'],
      ['Python', 'Dicts'],
    ],
    batchSize: 3,
    modelName: 'openai/gpt-3.5-turbo',
  });
  expect(batch.length).toBe(3);
  expect(env.llm.calls.at(-1)!.model).toBe('gpt-3.5-turbo');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'incr-'));
  const dataset = new Dataset();
  const tree = { sampleTopics: (k: number, seed: number) => topicPaths(50).slice(seed, seed + k) };
  for (let i = 0; i < 6; i += 3) {
    const b = await generator.createBatch({ topics: tree.sampleTopics(3, i), batchSize: 3 });
    dataset.extend(b);
    await dataset.save(path.join(dir, `checkpoint_${i}.jsonl`));
  }
  expect(dataset.length).toBe(6);
  expect((await Dataset.load(path.join(dir, 'checkpoint_3.jsonl'))).length).toBe(6);
  expect((await Dataset.load(path.join(dir, 'checkpoint_0.jsonl'))).length).toBe(3);
});

it("the seed's incremental loop: five createBatch calls on fresh tree samples give 50 distinct records from 5 model calls", async () => {
  const generator = make();
  const tree = new Tree(topicPaths(100));
  const dataset = new Dataset();
  const callsBefore = env.llm.calls.length;
  for (let i = 0; i < 50; i += 10) dataset.extend(await generator.createBatch({ topics: tree.sampleTopics(10), batchSize: 10 }));
  expect(dataset.length).toBe(50);
  expect(new Set(dataset.samples.map((r) => JSON.stringify(r))).size).toBe(50);
  expect(env.llm.calls.length - callsBefore).toBe(5);
});

it('multi-provider: two generators with different providers in one process, and a per-call override', async () => {
  const complex = make({ modelName: 'anthropic/claude-3-opus', temperature: 0.7 });
  const simple = make({ modelName: 'openai/gpt-3.5-turbo' });
  const [a, b] = await Promise.all([
    complex.createData({ topics: topicPaths(4), numSteps: 4, batchSize: 2, runName: 'complex' }),
    simple.createData({ topics: topicPaths(4), numSteps: 4, batchSize: 2, runName: 'simple' }),
  ]);
  expect(a.length + b.length).toBe(8);
  expect(env.llm.calls.filter((c) => c.protocol === 'anthropic').map((c) => c.model)).toEqual(['claude-3-opus', 'claude-3-opus']);
  expect(env.llm.calls.filter((c) => c.protocol === 'openai').map((c) => c.model)).toEqual(['gpt-3.5-turbo', 'gpt-3.5-turbo']);
  env.llm.reset();
  await simple.createData({ topics: topicPaths(2), numSteps: 2, batchSize: 2, modelName: 'anthropic/claude-3-haiku', runName: 'override' });
  expect(env.llm.calls.map((c) => `${c.protocol}:${c.model}`)).toEqual(['anthropic:claude-3-haiku']);
});

it('templates: setTemplate and variables reach the prompt; an unknown variable is refused at run start, by name', async () => {
  const generator = make();
  generator.setTemplate('instruction', 'Create a clear explanation of {topic} suitable for {audience_level}, tone {tone}.');
  generator.setTemplateVariables({ tone: 'friendly', audience_level: 'beginners' });
  await generator.createData({ topics: [['Python', 'Generators']], numSteps: 1, batchSize: 1, runName: 'tpl' });
  expect(env.llm.calls[0]!.prompt).toContain('Create a clear explanation of Generators suitable for beginners, tone friendly.');

  const custom = make();
  custom.setCustomTemplate('Create a {content_type} about {topic}. Target audience: {audience}. Complexity: {complexity}. Region: {region}');
  expect(custom.validateConfiguration().filter((i) => i.startsWith('template:'))).toEqual([
    'template: unknown variable {region}; set a value with setTemplateVariables() or remove it',
  ]);
  const calls = env.llm.calls.length;
  await expect(custom.startData({ topics: [['x']], numSteps: 1 })).rejects.toThrow(ConfigurationError);
  await expect(custom.startData({ topics: [['x']], numSteps: 1 })).rejects.toThrow(/\{region\}/);
  expect(env.llm.calls.length).toBe(calls);
});

describe.each(CONVERSATION_TYPES.map((t) => [t]))('conversation type %s', (type) => {
  it('produces records that parse with its schema, with the system message as asked', async () => {
    const generator = make({ conversationType: type });
    const dataset = await generator.createData({ topics: topicPaths(4), numSteps: 4, batchSize: 2, sysMsg: true, runName: `type-${type}` });
    expect(dataset.length).toBe(4);
    for (const r of dataset) {
      expect(RecordSchemas[type].safeParse(r).success).toBe(true);
      if ('messages' in r) expect((r.messages as { role: string }[])[0]!.role).toBe('system');
    }
  });
});
