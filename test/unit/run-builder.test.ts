import { GeneratorOptionsSchema } from '../../src/config/generator-options';
import { buildRunPlan, defaultBatchesPerRun, type GeneratorState } from '../../src/client/run-builder';
import { createDataArgsProblems } from '../../src/config/create-data-args';
import { DEFAULT_TEMPLATES } from '../../src/prompts/template';
import { Tree } from '../../src/topics/tree';
import { Graph } from '../../src/topics/graph';
import { ConfigurationError } from '../../src/errors';

const state: GeneratorState = { templates: { ...DEFAULT_TEMPLATES }, activeTemplate: 'default', customTemplate: undefined, namedFilters: [] };
const opts = GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', defaultBatchSize: 4, defaultNumExamples: 7 });
const tree = new Tree([
  ['R', 'A', 'a1'],
  ['R', 'A', 'a2'],
  ['R', 'B', 'b1'],
]);

describe('buildRunPlan', () => {
  it('uses defaultNumExamples and defaultBatchSize when createData gives none', () => {
    const input = buildRunPlan(opts, state, { topicModel: tree }, '/data');
    expect(input.numSteps).toBe(7);
    expect(input.examplesPerCall).toBe(4);
    expect(input.runDir).toBe(`/data/runs/${input.runId}`);
  });
  it('evaluates a custom topicSampler on the client and stores its result with the run', () => {
    const sampler = jest.fn((_model: unknown, count: number) => Array.from({ length: count }, () => ['R', 'B', 'b1']));
    const input = buildRunPlan(opts, state, { topicModel: tree, numSteps: 5, topicSampler: sampler as never }, '/data');
    expect(sampler).toHaveBeenCalledWith(tree, 5);
    expect(input.topics).toEqual({ kind: 'inline', paths: Array.from({ length: 5 }, () => ['R', 'B', 'b1']) });
    expect(input.sampling.strategy).toBe('sequential');
  });
  it("a Graph's topics are its nodes with their uuids (DeepFabric 4.x), or its paths when told", () => {
    const g = new Graph(0);
    g.addNode('R');
    g.addNode('A', 0);
    g.addNode('a1', 1);
    const plan = buildRunPlan(opts, state, { topicModel: g }, '/data');
    expect(plan.topics).toEqual({
      kind: 'nodes',
      paths: [
        ['R', 'A'],
        ['R', 'A', 'a1'],
      ],
      ids: g.uniqueTopics().map((t) => t.id),
    });
    const byPaths = buildRunPlan(opts, state, { topicModel: g, graphSampling: 'paths' }, '/data');
    expect(byPaths.topics).toEqual({ kind: 'inline', paths: [['R', 'A', 'a1']] });
    expect(byPaths.runId).not.toBe(plan.runId); // other topics, another dataset
    // The same dataset as a graph run of an earlier build (its topics were the paths): the same run id, so the same command resumes it.
    expect(buildRunPlan(opts, state, { topicModel: g, graphSampling: 'paths', runName: 'g' }, '/data').runId).toBe(
      buildRunPlan(opts, state, { topics: g.getAllPaths(), runName: 'g' }, '/data').runId,
    );
  });
  it('continue-as-new every 500 batches, or every 128 rounds of the batches in flight when more (at most 1,900 slices); a set batchesPerRun wins', () => {
    expect([defaultBatchesPerRun(32, 8), defaultBatchesPerRun(128, 8), defaultBatchesPerRun(512, 8), defaultBatchesPerRun(5000, 8)]).toEqual([
      512, 2048, 7600, 7600,
    ]);
    expect([defaultBatchesPerRun(512, 8, 1), defaultBatchesPerRun(512, 8, 2), defaultBatchesPerRun(64, 8, 1)]).toEqual([1900, 3800, 1024]);
    const wide = GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', concurrency: 512 });
    expect(buildRunPlan(wide, state, { topicModel: tree, numSteps: 10 }, '/data').batchesPerRun).toBe(7600);
    expect(buildRunPlan(opts, state, { topicModel: tree }, '/data').batchesPerRun).toBe(512); // 8 calls in flight, 2 per batch: 4 batches
    const told = GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', concurrency: 512, batchesPerRun: 100 });
    expect(buildRunPlan(told, state, { topicModel: tree, numSteps: 10 }, '/data').batchesPerRun).toBe(100);
  });
  it('keeps the API key out of the run input even when the environment has one', () => {
    process.env.OPENAI_API_KEY = 'sk-must-not-travel';
    const input = buildRunPlan(opts, state, { topicModel: tree }, '/data');
    expect(JSON.stringify(input)).not.toContain('sk-must-not-travel');
    delete process.env.OPENAI_API_KEY;
  });
  it('lists every problem of a run at once', () => {
    try {
      buildRunPlan(opts, state, { numSteps: 0, batchSize: -1 }, '/data');
      throw new Error('expected a ConfigurationError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as ConfigurationError).issues).toEqual([
        'numSteps: must be a positive integer, got 0',
        'batchSize: must be a positive integer, got -1',
        'topics: none given; pass topics (a list of topic paths), a topicModel (Tree or Graph), or topicsFile',
      ]);
    }
  });
});

describe('run identity is dataset identity', () => {
  const base = {
    topics: [
      ['R', 'A'],
      ['R', 'B'],
    ],
    runName: 'ds',
  };
  const idOf = (o: Record<string, unknown>, args: Record<string, unknown> = {}) =>
    buildRunPlan(GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', ...o }), state, { ...base, ...args }, '/data').runId;
  const id = idOf({});

  it('ignores operational settings and the example count', () => {
    expect(
      idOf({ concurrency: 3, maxRetries: 9, requestTimeout: 200, maxBackoffSeconds: 5, heartbeatTimeout: 30, batchesPerRun: 50, maxExtraBatchFraction: 2 }),
    ).toBe(id);
    expect(idOf({ baseUrl: 'http://mirror.local/v1' })).toBe(id);
    expect(idOf({}, { numSteps: 500 })).toBe(id);
  });
  it('changes with what defines the examples', () => {
    const others = [
      idOf({ instructions: 'other' }),
      idOf({ generationSystemPrompt: 'other' }),
      idOf({ modelName: 'openai/gpt-4o' }),
      idOf({ temperature: 0.1 }),
      idOf({ conversationType: 'cot_freetext' }),
      idOf({}, { batchSize: 7 }),
      idOf({}, { seed: 7, samplingStrategy: 'random' }),
      idOf(
        {},
        {
          topics: [
            ['R', 'A'],
            ['R', 'C'],
          ],
        },
      ),
    ];
    expect(new Set([id, ...others]).size).toBe(others.length + 1);
  });
  it('a topics file counts by its bytes, not its path', () => {
    const a = buildRunPlan(opts, state, { topicsFile: '/x/t.jsonl', runName: 'f' }, '/data', 'digest-1').runId;
    expect(buildRunPlan(opts, state, { topicsFile: '/elsewhere/t.jsonl', runName: 'f' }, '/data', 'digest-1').runId).toBe(a);
    expect(buildRunPlan(opts, state, { topicsFile: '/x/t.jsonl', runName: 'f' }, '/data', 'digest-2').runId).not.toBe(a);
  });
});

describe('createData arguments', () => {
  const problems = (args: unknown) => createDataArgsProblems(args);

  it('are parsed by their schema: wrong types, bounds and misspelt keys are refused naming the key', () => {
    expect(problems({ numSteps: 10, batchSize: 2, topics: [['a', 'b']], runName: 'x' })).toEqual([]);
    expect(problems({ numsteps: 10 })).toEqual([expect.stringMatching(/^numsteps: not an argument of createData \(known: numSteps, batchSize, /)]);
    expect(problems({ numSteps: 2.5 })).toEqual([expect.stringMatching(/^numSteps: /)]);
    expect(problems({ numSteps: 2_000_000 })).toEqual(['numSteps: at most 1,000,000 examples per run, got 2000000; split a larger dataset into several runs']);
    expect(problems({ topics: ['a', 'b'] })).toEqual([expect.stringMatching(/^topics\.0: /), expect.stringMatching(/^topics\.1: /)]);
    expect(problems({ topicModel: { paths: [] } })).toEqual(['topicModel: must have getAllPaths() (a Tree or a Graph)']);
    expect(problems({ topicSampler: 'random' })).toEqual(['topicSampler: must be a function (topicModel, count) => paths']);
    expect(problems({ samplingStrategy: 'custom' })).toEqual([expect.stringMatching(/^samplingStrategy: /)]);
  });

  it('refuses a bad call before anything runs, as a ConfigurationError listing every problem', () => {
    const err = (() => {
      try {
        buildRunPlan(opts, state, { numSteps: 0, callsPerBatch: 100 } as never, '/data');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).message).toMatch(/^invalid run: numSteps: must be a positive integer, got 0; callsPerBatch: .*; topics: none given/);
  });
});
