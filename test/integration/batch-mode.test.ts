/**
 * Batch mode (issue 21): the calls go to the providers' batch APIs on the local LLM server (OpenAI
 * Files + Batches, Anthropic Message Batches) through the real SDKs, against the real dev server:
 * exact counts, no duplicates, every provider batch created once, the cost at the batch price equal
 * to the server's billed tokens x price / 2; errored and expired lines resubmitted once and counted;
 * a stop cancels the provider batch and keeps its finished lines; a cancel cancels it at the provider.
 */
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { Dataset } from '../../src/dataset/dataset';
import { costUsd } from '../../src/llm/prices';
import { topicPaths } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { waitFor } from '../support/temporal';

const env = useIntegrationEnv('batch-mode');
const price = { inputPerMTokUsd: 1000, outputPerMTokUsd: 1000 };
const make = (model: string, batchApi: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  new DataSetGenerator({
    modelName: model,
    dataDir: env.dataDir,
    concurrency: 4,
    callsPerBatch: 2,
    initialBackoffSeconds: 0.1,
    price,
    callMode: 'batch',
    batchApi: { pollSeconds: 1, ...batchApi },
    ...extra,
    temporal: { client: env.client, taskQueue: env.taskQueue },
  });

/** What the server billed: its live calls at the price, its batch lines at half. */
const mixedCost = () => {
  const live = env.llm.calls.reduce((t, c) => ({ inputTokens: t.inputTokens + c.inputTokens, outputTokens: t.outputTokens + c.outputTokens }), {
    inputTokens: 0,
    outputTokens: 0,
  });
  return costUsd(live, price) + costUsd(env.llm.batches.billed(), price) / 2;
};

const textsOf = async (file: string) => [...(await Dataset.load(file))].map((r) => JSON.stringify(r.messages));

describe.each(['openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku'])('%s', (model) => {
  it('1,000 examples through the batch API: exact, no duplicates, each provider batch created once, cost at the batch price', async () => {
    env.llm.batches.configure({ processingMs: 1500 });
    const run = await make(model, { maxRequests: 120 }).startData({
      numSteps: 1000,
      batchSize: 5,
      topics: topicPaths(50),
      runName: `batch-1000-${model.split('/')[0]}`,
    });
    const result = await run.result();
    expect(result.records).toBe(1000);
    const texts = await textsOf(result.datasetPath);
    expect(new Set(texts).size).toBe(1000);
    // 200 calls in chunks of 120 lines (60 batches of 2 calls): two provider batches, none twice, no live call.
    const created = env.llm.batches.batches;
    expect(created.map((b) => b.lines.length).sort((a, b) => b - a)).toEqual([120, 80]);
    expect(env.llm.calls.length).toBe(0);
    expect(Object.keys(result.stats.providerBatches ?? {}).sort()).toEqual(created.map((b) => b.id).sort());
    expect(result.stats.batchLines).toEqual({ submitted: 200, succeeded: 200, unusable: 0, errored: 0, expired: 0, cancelled: 0, live: 0 });
    const billed = env.llm.batches.billed();
    expect(billed.lines).toBe(200);
    expect({ in: result.stats.batchInputTokens, out: result.stats.batchOutputTokens }).toEqual({ in: billed.inputTokens, out: billed.outputTokens });
    expect(result.stats.costUsd).toBeCloseTo(costUsd(billed, price) / 2, 5);
  });
});

it('errored and expired lines are resubmitted once in a smaller batch, counted; finished lines of the expired batch are kept', async () => {
  // In the first provider batch, calls 3 and 7 error and call 5 expires (the batch ends expired).
  env.llm.batches.configure({
    processingMs: 600,
    lineOutcome: (_id, i, batchNo) => (batchNo > 1 ? 'ok' : i === 3 || i === 7 ? 'error' : i === 5 ? 'expire' : 'ok'),
  });
  const run = await make('openai/gpt-4o-mini').startData({ numSteps: 40, batchSize: 2, topics: topicPaths(40), runName: 'batch-resubmit' });
  const result = await run.result();
  expect(result.records).toBe(40);
  expect(new Set(await textsOf(result.datasetPath)).size).toBe(40);
  const created = env.llm.batches.batches;
  expect(created.map((b) => b.lines.length)).toEqual([20, 3]);
  const firstIds = new Set(created[0]!.lines.map((l) => l.customId));
  expect(created[1]!.lines.every((l) => firstIds.has(l.customId))).toBe(true);
  expect(result.stats.batchLines).toEqual({ submitted: 23, succeeded: 20, unusable: 0, errored: 2, expired: 1, cancelled: 0, live: 0 });
  expect(Object.values(result.stats.providerBatches ?? {}).map((b) => b.status)).toEqual(['expired', 'completed']);
  expect(env.llm.batches.billed().lines).toBe(20);
  expect(env.llm.calls.length).toBe(0);
});

it('lines still unanswered after the last attempt are called live, at the live price, and counted', async () => {
  env.llm.batches.configure({ processingMs: 300, lineOutcome: (_id, i) => (i < 2 ? 'error' : 'ok') });
  const run = await make('openai/gpt-4o-mini', { attempts: 1 }).startData({ numSteps: 10, batchSize: 1, topics: topicPaths(10), runName: 'batch-live-rest' });
  const result = await run.result();
  expect(result.records).toBe(10);
  expect(env.llm.batches.batches).toHaveLength(1);
  expect(env.llm.calls.length).toBe(2);
  expect(result.stats.batchLines?.live).toBe(2);
  expect(result.stats.costUsd).toBeCloseTo(mixedCost(), 5);
});

it('past batch_deadline, what is unanswered is cancelled at the provider and called live; what it answered is kept', async () => {
  // A minute per batch at the provider, a deadline of 3.6 s: a few lines are answered there, the rest live.
  env.llm.batches.configure({ processingMs: 60_000 });
  const run = await make('openai/gpt-4o-mini', { deadlineHours: 0.001 }).startData({
    numSteps: 60,
    batchSize: 1,
    topics: topicPaths(60),
    runName: 'batch-deadline',
  });
  const result = await run.result();
  expect(result.records).toBe(60);
  expect(new Set(await textsOf(result.datasetPath)).size).toBe(60);
  const b = env.llm.batches.batches;
  expect(b).toHaveLength(1);
  expect(b[0]!.cancelledAt).toBeDefined();
  const atProvider = env.llm.batches.billed().lines;
  expect(atProvider).toBeGreaterThan(0);
  expect(atProvider).toBeLessThan(60);
  expect(env.llm.calls).toHaveLength(60 - atProvider);
  expect(result.stats.batchLines).toMatchObject({ submitted: 60, succeeded: atProvider, cancelled: 60 - atProvider, live: 60 - atProvider });
  expect(result.stats.costUsd).toBeCloseTo(mixedCost(), 5);
});

it('stop cancels the provider batch and keeps the lines it had finished; nothing is called live', async () => {
  env.llm.batches.configure({ processingMs: 60_000 });
  const run = await make('openai/gpt-4o-mini').startData({ numSteps: 60, batchSize: 1, topics: topicPaths(60), runName: 'batch-stop' });
  // A tenth of the lines is answered after 6 s: the poll reports it, then the run is stopped.
  await waitFor(async () => Object.values((await run.stats()).providerBatches ?? {}).some((b) => b.succeeded >= 6) || undefined);
  await run.stop();
  const result = await run.result();
  expect(result.status).toBe('stopped');
  const b = env.llm.batches.batches;
  expect(b).toHaveLength(1);
  expect(b[0]!.cancelledAt).toBeDefined();
  const answered = env.llm.batches.billed().lines;
  expect(answered).toBeGreaterThanOrEqual(6);
  expect(answered).toBeLessThan(60);
  expect(result.records).toBe(answered);
  expect(env.llm.calls.length).toBe(0);
  expect(Object.values(result.stats.providerBatches ?? {})[0]!.status).toBe('cancelled');
});

it('cancel cancels every provider batch of the run at the provider', async () => {
  env.llm.batches.configure({ processingMs: 600_000 });
  const run = await make('anthropic/claude-3-5-haiku', { maxRequests: 10 }).startData({
    numSteps: 40,
    batchSize: 1,
    topics: topicPaths(40),
    runName: 'batch-cancel',
  });
  await waitFor(async () => Object.keys((await run.stats()).providerBatches ?? {}).length === 4 || undefined);
  await run.cancel();
  await expect(run.result()).rejects.toThrow(/cancel/);
  const b = env.llm.batches.batches;
  expect(b).toHaveLength(4);
  expect(b.every((x) => x.cancelledAt !== undefined)).toBe(true);
});
