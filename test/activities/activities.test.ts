/**
 * Every activity of the worker, run in Temporal's `MockActivityEnvironment` (no server): the real
 * OpenAI SDK against the local LLM server over HTTP, a real data folder. What a slice does on each
 * attempt is decided here, where the attempt number is set by hand; the workflow side is in
 * test/unit/run-scheduler.test.ts and test/workflow/.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import type { SliceResult } from '../../src/activities/types';
import type { ChunkCollected, ChunkInput, ChunkSubmitted } from '../../src/activities/provider-batch';
import { buildRunPlan, type GeneratorState } from '../../src/client/run-builder';
import { buildTopicInput } from '../../src/client/topic-builder';
import { GeneratorOptionsSchema } from '../../src/config/generator-options';
import type { RunInput } from '../../src/config/run-input';
import { DEFAULT_TEMPLATES } from '../../src/prompts/template';
import { FsStore } from '../../src/storage/fs-store';
import { sliceInputs } from '../../src/workflows/activity-inputs';
import { topicPaths, workerEnv } from '../support/fixtures';
import { LlmTestServer } from '../support/llm-server';

const llm = new LlmTestServer();
let dataDir: string;
let store: FsStore;
let activities: ReturnType<typeof createActivities>;
const state: GeneratorState = { templates: { ...DEFAULT_TEMPLATES }, activeTemplate: 'default', customTemplate: undefined, namedFilters: [] };

beforeAll(async () => {
  await llm.start();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'activities-'));
  store = new FsStore(dataDir);
  activities = createActivities({ env: workerEnv(llm), store });
});
afterAll(() => llm.stop());
beforeEach(() => llm.configure({ latencyMs: 0 }));
afterEach(() => llm.reset());

/** A run of `numSteps` one-example batches (one call each), as the client would plan it. */
async function runOf(name: string, numSteps: number, retryOnErrors?: string[]): Promise<RunInput> {
  const opts = GeneratorOptionsSchema.parse({
    modelName: 'openai/gpt-4o-mini',
    concurrency: 1,
    callsPerBatch: 1,
    ...(retryOnErrors ? { retryOnErrors } : {}),
  });
  const plan = buildRunPlan(opts, state, { numSteps, batchSize: 1, topics: topicPaths(numSteps), runName: name } as never, dataDir);
  return { ...plan, topics: plan.topics as RunInput['topics'], storeId: await store.id() };
}
const sliceOf = (run: RunInput, batches: number[]) =>
  sliceInputs(run)(
    batches.map((b) => ({ batchIndex: b, firstExample: b, count: 1 })),
    { requestTimeoutSeconds: 30, retryOnErrors: run.retry.retryOnErrors, firstWave: false },
  );
/** One attempt of one slice activity (the same workflow run and activity id on every attempt). */
const attempt = (n: number) => new MockActivityEnvironment({ attempt: n, activityId: '7', workflowExecution: { workflowId: 'w', runId: 'r' } });
/** `env.run(fn, ...args)`, typed by `fn` (the SDK's signature does not infer the result). */
const exec = <A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  env.run(fn, ...args) as Promise<R>;
const callsOf = (run: RunInput, batch: number) => llm.calls.filter((c) => c.batch === `${run.runId}/${batch}`).map((c) => c.outcome);

describe('generateSlice', () => {
  it('generates its batches, writes their shards, and returns small summaries (no records)', async () => {
    const run = await runOf('slice-ok', 3);
    const result = await exec(attempt(1), activities.generateSlice, sliceOf(run, [0, 1, 2]));
    expect(result.batches.map((b) => [b.batchIndex, b.summary?.accepted, b.summary?.cached])).toEqual([
      [0, 1, false],
      [1, 1, false],
      [2, 1, false],
    ]);
    expect(JSON.stringify(result)).not.toMatch(/"messages"/);
    expect(await store.run(run.runId).shardIndices()).toEqual([0, 1, 2]);
  });

  it("fails on a retryable batch failure for Temporal to retry; its next attempt calls only for that batch, and counts the others as this run's", async () => {
    const run = await runOf('slice-retry', 2);
    llm.configure({ outcomeForBatch: (b) => (b === `${run.runId}/1` ? '500' : undefined) });
    const err = await exec(attempt(1), activities.generateSlice, sliceOf(run, [0, 1])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type: 'server_error', nonRetryable: false });
    // Its details carry what it finished, for the workflow if this was the last attempt.
    const finished = failure.details?.[1] as SliceResult;
    expect(finished.batches.map((b) => [b.batchIndex, b.summary ? 'done' : b.failure?.category])).toEqual([
      [0, 'done'],
      [1, 'server_error'],
    ]);
    llm.configure({ outcomeForBatch: () => undefined });
    const second = await exec(attempt(2), activities.generateSlice, sliceOf(run, [0, 1]));
    expect({ batch0: callsOf(run, 0), batch1: callsOf(run, 1) }).toEqual({ batch0: ['ok'], batch1: ['500', 'ok'] });
    // Batch 0 was paid by this slice (its first attempt): not "cached", so the run counts its tokens.
    expect(second.batches.map((b) => [b.batchIndex, b.summary?.cached, b.summary?.attempts])).toEqual([
      [0, false, 1],
      [1, false, 2],
    ]);
    // Another slice (another run reusing the shards) sees them as cached.
    const other = await exec(
      new MockActivityEnvironment({ activityId: '9', workflowExecution: { workflowId: 'w', runId: 'r2' } }),
      activities.generateSlice,
      sliceOf(run, [0, 1]),
    );
    expect(other.batches.map((b) => b.summary?.cached)).toEqual([true, true]);
  });

  it('reports a failure outside retryOnErrors as final, and a later attempt of the slice never calls for that batch again', async () => {
    const run = await runOf('slice-final', 2, ['timeout']);
    llm.configure({ outcomeForBatch: (b) => (b === `${run.runId}/1` ? '500' : undefined) });
    const first = await exec(attempt(1), activities.generateSlice, sliceOf(run, [0, 1]));
    expect(first.batches[1]!.failure).toMatchObject({ category: 'server_error', details: { attempts: 1 } });
    llm.configure({ outcomeForBatch: () => undefined });
    // A retry of the same slice (e.g. after its worker died) reports it again without a call.
    const again = await exec(attempt(2), activities.generateSlice, sliceOf(run, [0, 1]));
    expect(again.batches[1]!.failure).toMatchObject({ category: 'server_error', nonRetryable: true });
    expect(callsOf(run, 1)).toEqual(['500']);
  });

  describe('a run started again after an earlier run of the dataset failed mid-batch', () => {
    /** A run of one batch of two one-example calls, made one at a time. */
    const twoCallRun = async (name: string, retryOnErrors?: string[]) => {
      const opts = GeneratorOptionsSchema.parse({
        modelName: 'openai/gpt-4o-mini',
        concurrency: 1,
        callsPerBatch: 2,
        ...(retryOnErrors ? { retryOnErrors } : {}),
      });
      const plan = buildRunPlan(opts, state, { numSteps: 2, batchSize: 1, topics: topicPaths(2), runName: name } as never, dataDir);
      const run: RunInput = { ...plan, topics: plan.topics as RunInput['topics'], storeId: await store.id() };
      const slice = sliceInputs(run)([{ batchIndex: 0, firstExample: 0, count: 2 }], {
        requestTimeoutSeconds: 30,
        retryOnErrors: run.retry.retryOnErrors,
        firstWave: false,
      });
      return { run, slice };
    };
    /** An attempt of the slice in another workflow run (execution) of the same dataset. */
    const laterRun = (n: number) => new MockActivityEnvironment({ attempt: n, activityId: '7', workflowExecution: { workflowId: 'w', runId: 'r-again' } });

    it('its first attempt reuses the calls the earlier run had answered (paid for), calling only the rest', async () => {
      const { run, slice } = await twoCallRun('rerun-reuse');
      llm.configure({ script: ['ok', '401'] });
      const failed = await exec(attempt(1), activities.generateSlice, slice);
      expect(failed.batches[0]!.failure?.category).toBe('auth_error');
      const again = await exec(laterRun(1), activities.generateSlice, slice);
      expect(again.batches[0]!.summary).toMatchObject({ accepted: 2, calls: 2 });
      expect(callsOf(run, 0)).toEqual(['ok', '401', 'ok']);
    });

    it("the earlier run's final failure of the batch does not end this run's retry of it", async () => {
      const { run, slice } = await twoCallRun('rerun-final', ['timeout']);
      llm.configure({ script: ['ok', '500'] });
      const failed = await exec(attempt(1), activities.generateSlice, slice);
      expect(failed.batches[0]!.failure).toMatchObject({ category: 'server_error', details: { attempts: 1 } }); // final: outside retryOnErrors
      // This run's slice, retried (its first attempt's worker died before calling): it calls for the missing example.
      const again = await exec(laterRun(2), activities.generateSlice, slice);
      expect(again.batches[0]!.failure).toBeUndefined();
      expect(again.batches[0]!.summary?.accepted).toBe(2);
      expect(callsOf(run, 0)).toEqual(['ok', '500', 'ok']);
    });
  });

  it('a refused key ends the run: reported (not retried), and the slice starts no more calls', async () => {
    const run = await runOf('slice-auth', 3);
    llm.configure({ acceptKey: 'another-key' });
    const result = await exec(attempt(1), activities.generateSlice, sliceOf(run, [0, 1, 2]));
    expect(result.batches.map((b) => b.failure?.category)).toEqual(['auth_error', 'auth_error', 'auth_error']);
    expect(llm.calls).toHaveLength(1); // one slot: the first call's 401 closed the slice
  });
});

describe('records of generation.output_schema and topics with ids of their own', () => {
  const schema = {
    type: 'object',
    properties: { question: { type: 'string' }, answer: { type: 'string' }, level: { type: 'string', enum: ['easy', 'hard'] } },
    required: ['question', 'answer'],
  };
  it('custom records are the objects of the schema as answered: asked for in strict mode, checked, no system message or topic id added', async () => {
    const opts = GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', concurrency: 1, callsPerBatch: 1, outputSchema: schema });
    const plan = buildRunPlan(opts, state, { numSteps: 2, batchSize: 1, topics: topicPaths(2), runName: 'custom' } as never, dataDir);
    const run = { ...plan, topics: plan.topics as RunInput['topics'], storeId: await store.id() };
    const result = await exec(attempt(1), activities.generateSlice, sliceOf(run, [0, 1]));
    expect(result.batches.map((b) => b.summary?.accepted)).toEqual([1, 1]);
    const records = (await store.run(run.runId).readShard(0)).records as Record<string, unknown>[];
    expect(Object.keys(records[0]!).sort()).toEqual(['answer', 'level', 'question']);
    expect(['easy', 'hard']).toContain(records[0]!.level);
    const call = llm.calls.at(-1)!;
    expect(call.prompt).toMatch(/each one JSON object of the response schema/);
    // An answer off the schema is not a record: the batch fails (retried with the error in its prompt).
    llm.configure({ respond: () => ({ examples: [{ question: 'q' }] }) });
    const off = await exec(attempt(1), activities.generateSlice, sliceOf({ ...run, runId: `${run.runId}-off` }, [0])).catch((e: unknown) => e);
    expect(off).toBeInstanceOf(ApplicationFailure);
    expect((off as ApplicationFailure).message).toMatch(/answer/);
  });

  it("stored topics with ids (a graph's nodes): each record's topic_id is its topic's own id", async () => {
    const opts = GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', concurrency: 1, callsPerBatch: 1 });
    const plan = buildRunPlan(opts, state, { numSteps: 3, batchSize: 1, topics: topicPaths(2), runName: 'node-ids' } as never, dataDir);
    const run: RunInput = { ...plan, topics: { kind: 'stored', count: 2 }, storeId: await store.id() };
    await store.run(run.runId).writeTopics({ paths: topicPaths(2), ids: ['uuid-a', 'uuid-b'] });
    await exec(attempt(1), activities.generateSlice, sliceOf(run, [0, 1, 2]));
    const ids = await Promise.all(
      [0, 1, 2].map(async (b) => ((await store.run(run.runId).readShard(b)).records as { metadata: { topic_id: string } }[])[0]!.metadata.topic_id),
    );
    expect(ids).toEqual(['uuid-a', 'uuid-b', 'uuid-a']);
  });
});

describe('limits the provider announces', () => {
  /** One slice of `calls` one-example batches in `calls` call slots: they would all start at once unpaced. */
  const wideSlice = (run: RunInput, from: number, calls: number) => ({
    ...sliceOf(
      run,
      Array.from({ length: calls }, (_, i) => from + i),
    ),
    callsInFlight: calls,
  });
  const startsOf = (run: RunInput, from: number) =>
    llm.calls
      .filter((c) => Number(c.batch?.split('/').pop()) >= from && c.batch?.startsWith(run.runId))
      .map((c) => c.startedAt)
      .sort((a, b) => a - b);

  it('a run told no rate limit paces at the limit announced in the answers (x-ratelimit-limit-requests), shared through the store', async () => {
    const run = await runOf('announced', 5);
    llm.configure({ requestsPerMinute: 120 }); // 0.5 s apart
    const worker = createActivities({ env: workerEnv(llm), store }); // its own worker: the others never heard this limit
    await exec(attempt(1), worker.generateSlice, sliceOf(run, [0])); // the first answer announces 120/min
    await exec(attempt(1), worker.generateSlice, wideSlice(run, 1, 4));
    const starts = startsOf(run, 1);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(gaps.every((g) => g >= 400)).toBe(true); // ~531 ms each (60000 / (114 - 1)), less timer slack
    expect(llm.count('429')).toBe(0);
  });

  it('a token limit announced in the answers (x-ratelimit-limit-tokens) is paced as the calls a minute it allows', async () => {
    const run = await runOf('tokens', 6);
    llm.configure({ requestsPerMinute: undefined, tokensPerMinute: 10_000_000 });
    const worker = createActivities({ env: workerEnv(llm), store });
    await exec(attempt(1), worker.generateSlice, sliceOf(run, [0])); // a call's tokens, under a limit far away
    const last = llm.calls[llm.calls.length - 1]!;
    const tokensPerCall = last.inputTokens + last.outputTokens;
    llm.configure({ tokensPerMinute: tokensPerCall * 120 }); // 120 such calls a minute: 0.5 s apart
    await exec(attempt(1), worker.generateSlice, sliceOf(run, [1])); // its answer announces the new limit
    await exec(attempt(1), worker.generateSlice, wideSlice(run, 2, 4));
    const starts = startsOf(run, 2);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(gaps.every((g) => g >= 400)).toBe(true); // ~530 ms each (the moving average of tokens per call, 5% below), less timer slack
    expect(llm.count('429')).toBe(0);
    llm.configure({ tokensPerMinute: undefined });
  });

  it('without an announcement nothing is paced: the same slice starts its calls together', async () => {
    const run = await runOf('unannounced', 5);
    llm.configure({ requestsPerMinute: 120, announceLimit: false });
    const fresh = createActivities({ env: workerEnv(llm), store }); // a worker that heard no announcement yet
    await exec(attempt(1), fresh.generateSlice, sliceOf(run, [0]));
    await exec(attempt(1), fresh.generateSlice, wideSlice(run, 1, 4));
    const starts = startsOf(run, 1);
    expect(starts[starts.length - 1]! - starts[0]!).toBeLessThan(300);
  });
});

describe('assembleDataset', () => {
  it("joins a run's shards in batch order into dataset.jsonl and writes the manifest", async () => {
    const run = await runOf('assemble', 3);
    await exec(attempt(1), activities.generateSlice, sliceOf(run, [0, 1, 2]));
    const result = await exec(new MockActivityEnvironment(), activities.assembleDataset, {
      runId: run.runId,
      runDir: run.runDir,
      storeId: run.storeId,
      numSteps: 3,
      manifest: { name: run.name, status: 'completed' },
    });
    expect({ records: result.records, partial: result.partial }).toEqual({ records: 3, partial: false });
    const lines = (await fs.readFile(result.datasetPath, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(await fs.readFile(result.manifestPath, 'utf8'))).toMatchObject({ name: run.name, status: 'completed' });
  });

  it('refuses a run whose client uses another store, naming both', async () => {
    const run = await runOf('assemble-other', 1);
    const err = await exec(new MockActivityEnvironment(), activities.assembleDataset, {
      runId: run.runId,
      runDir: run.runDir,
      storeId: 'another-store-id',
      numSteps: 1,
      manifest: {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'configuration_error', nonRetryable: true });
    expect((err as Error).message).toMatch(/store ids another- there, [0-9a-f]{8} here/);
  });
});

describe('topic build activities', () => {
  const build = () =>
    buildTopicInput({ rootPrompt: `Activities ${Math.random()}`, mode: 'tree', depth: 1, degree: 3, modelName: 'openai/gpt-4o-mini', dataDir });

  it('expandTopic asks for `degree` subtopics once: a second attempt reads its checkpoint', async () => {
    const input = build();
    const { rootPrompt, resume: _resume, expansionsPerRun: _perRun, ...rest } = input;
    const expandInput = { build: rest, path: [rootPrompt] };
    const first = await exec(new MockActivityEnvironment(), activities.expandTopic, expandInput);
    expect(first.subtopics).toHaveLength(3);
    expect(first.cached).toBe(false);
    const again = await exec(new MockActivityEnvironment({ attempt: 2 }), activities.expandTopic, expandInput);
    expect({ cached: again.cached, subtopics: again.subtopics }).toEqual({ cached: true, subtopics: first.subtopics });
    expect(llm.calls).toHaveLength(1);
  });

  it('saveTopicTree writes the leaves of the expanded nodes as DeepFabric topics.jsonl', async () => {
    const input = build();
    const { rootPrompt, resume: _resume, expansionsPerRun: _perRun, ...rest } = input;
    const expanded = await exec(new MockActivityEnvironment(), activities.expandTopic, { build: rest, path: [rootPrompt] });
    const saved = await exec(new MockActivityEnvironment(), activities.saveTopicTree, { buildDir: input.buildDir, rootPrompt, depth: 1, failures: [] });
    expect(saved).toMatchObject({ leaves: 3, failed: 0 });
    const rows = (await store.topicBuild(path.basename(input.buildDir)).readFile('topics.jsonl'))!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toEqual(expanded.subtopics.map((s) => ({ path: [rootPrompt, s.topic] })));
  });

  it('writeTopicBuildState / readTopicBuildState carry a chunk across continue-as-new; saveTopicGraph writes the graph from them', async () => {
    const input = build();
    const graph = { nodes: { '0': { id: 0, topic: 'root', children: [], parents: [] } }, root_id: 0 };
    const chunk = JSON.stringify({ graph });
    await exec(new MockActivityEnvironment(), activities.writeTopicBuildState, { buildDir: input.buildDir, segment: 1, index: 0, chunk });
    expect(await exec(new MockActivityEnvironment(), activities.readTopicBuildState, { buildDir: input.buildDir, segment: 1, index: 0 })).toBe(chunk);
    const saved = await exec(new MockActivityEnvironment(), activities.saveTopicGraph, {
      buildDir: input.buildDir,
      state: { segment: 1, chunks: 1 },
      failures: [],
    });
    expect(saved.file).toBe(path.join(input.buildDir, 'topics.json'));
    const file = JSON.parse((await store.topicBuild(path.basename(input.buildDir)).readFile('topics.json'))!);
    expect(file).toMatchObject({ root_id: 0, nodes: { '0': { topic: 'root' } } });
  });
});

describe('batch mode: provider batch activities', () => {
  /** A batch-mode run of `numSteps` one-call batches on `model`, and its first chunk's input. */
  async function chunkOf(name: string, model: string, numSteps: number) {
    const opts = GeneratorOptionsSchema.parse({ modelName: model, concurrency: 1, callsPerBatch: 1, callMode: 'batch' });
    const plan = buildRunPlan(opts, state, { numSteps, batchSize: 1, topics: topicPaths(numSteps), runName: name } as never, dataDir);
    const run: RunInput = { ...plan, topics: plan.topics as RunInput['topics'], storeId: await store.id() };
    return {
      run,
      chunk: {
        ...sliceOf(
          run,
          Array.from({ length: numSteps }, (_, i) => i),
        ),
        round: 0,
      },
    };
  }
  const submitActivity = () => activities.submitProviderBatch as (c: ChunkInput) => Promise<ChunkSubmitted>;
  const collectActivity = () => activities.collectProviderBatch as (c: ChunkInput & { providerBatchId: string }) => Promise<ChunkCollected>;
  const submit = (chunk: ChunkInput) => exec(attempt(1), submitActivity(), chunk);

  it('a retried submission returns the recorded batch; one that died before the record finds its batch by metadata (OpenAI), never creating twice', async () => {
    const { chunk } = await chunkOf('pb-openai', 'openai/gpt-4o-mini', 3);
    const first = await submit(chunk);
    expect(first).toMatchObject({ lines: 3, reused: false });
    expect(await submit(chunk)).toMatchObject({ providerBatchId: first.providerBatchId, reused: true });
    // The worker died after the provider made the batch, before its id was recorded: only the intent is left.
    const run = store.run(chunk.runId);
    const record = await run.readCall<Record<string, unknown>>(0, 2000);
    await run.writeCall(0, 2000, { ...record, id: undefined }, { replace: true });
    expect(await submit(chunk)).toMatchObject({ providerBatchId: first.providerBatchId, reused: true });
    expect(llm.batches.batches).toHaveLength(1);
  });

  it('Anthropic (no metadata): one running candidate is taken; several wait until their lines tell, and the right one is taken', async () => {
    const { chunk } = await chunkOf('pb-anthropic', 'anthropic/claude-3-5-haiku', 2);
    llm.batches.configure({ processingMs: 600_000 });
    const first = await submit(chunk);
    const run = store.run(chunk.runId);
    const record = await run.readCall<Record<string, unknown>>(0, 2000);
    await run.writeCall(0, 2000, { ...record, id: undefined }, { replace: true });
    expect(await submit(chunk)).toMatchObject({ providerBatchId: first.providerBatchId, reused: true });
    // Another batch of the same size appears (another process on the key): two candidates.
    await run.writeCall(0, 2000, { ...record, id: undefined }, { replace: true });
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const sdk = new Anthropic({ apiKey: 'k', baseURL: llm.anthropicBaseUrl });
    const stranger = await sdk.messages.batches.create({
      requests: ['x-1', 'x-2'].map((id) => ({ custom_id: id, params: { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } })),
    });
    const waiting = await submit(chunk).catch((e: unknown) => e);
    expect(waiting).toBeInstanceOf(ApplicationFailure);
    expect((waiting as ApplicationFailure).message).toMatch(/may have made any of the provider batches .*waiting until they end/);
    expect(llm.batches.batches).toHaveLength(2); // nothing created
    llm.batches.finishAll();
    const found = await submit(chunk);
    expect(found.providerBatchId).toBe(first.providerBatchId);
    expect(found.providerBatchId).not.toBe(stranger.id);
    expect(llm.batches.batches).toHaveLength(2);
  });

  it('collection writes each answer as a call checkpoint once; a second collection returns the same counts and logs nothing twice', async () => {
    const { chunk } = await chunkOf('pb-collect', 'openai/gpt-4o-mini', 4);
    llm.batches.configure({ lineOutcome: (_id, i) => (i === 1 ? 'error' : 'ok') });
    const { providerBatchId } = await submit(chunk);
    const input = { ...chunk, providerBatchId: providerBatchId! };
    const counts = await exec(attempt(1), collectActivity(), input);
    expect(counts).toEqual({ succeeded: 3, unusable: 0, errored: 1, expired: 0, cancelled: 0, missing: 1 });
    expect(await exec(attempt(2), collectActivity(), input)).toEqual(counts);
    // The resubmission asks only for the call that errored.
    const again = await submit({ ...chunk, round: 1 });
    expect(again.lines).toBe(1);
    expect(llm.batches.batches[1]!.lines.map((l) => l.customId)).toEqual([llm.batches.batches[0]!.lines[1]!.customId]);
  });
});
