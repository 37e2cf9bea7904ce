/**
 * Tokens and cost (issue 10): the usage the LLM server reported adds up exactly to the run's totals,
 * answers that failed validation included; the cost is price x tokens; a budget below the run's cost
 * stops it gracefully, short of its target, with the reason in the stats and at most about one wave
 * of calls above the budget.
 */
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { costUsd } from '../../src/llm/prices';
import { Dataset } from '../../src/dataset/dataset';
import { topicPaths } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';

const env = useIntegrationEnv('budget');
// A dollar per thousand tokens: test runs cost whole cents.
const price = { inputPerMTokUsd: 1000, outputPerMTokUsd: 1000 };
const make = (extra: Record<string, unknown> = {}) =>
  new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    concurrency: 2,
    callsPerBatch: 1,
    initialBackoffSeconds: 0.1,
    price,
    ...extra,
    temporal: { client: env.client, taskQueue: env.taskQueue },
  });
const served = () =>
  env.llm.calls.reduce((t, c) => ({ inputTokens: t.inputTokens + c.inputTokens, outputTokens: t.outputTokens + c.outputTokens }), {
    inputTokens: 0,
    outputTokens: 0,
  });

it('the tokens the server reported add up to the run totals, a rejected answer included, and cost = price x tokens', async () => {
  env.llm.configure({ script: ['bad_schema'] }); // the first answer breaks the schema: paid for, then retried
  const run = await make().startData({ numSteps: 12, batchSize: 2, topics: topicPaths(12), runName: 'tokens' });
  const result = await run.result();
  expect(result.records).toBe(12);
  expect(env.llm.calls.map((c) => c.outcome).filter((o) => o !== 'ok')).toEqual(['bad_schema']);
  const total = served();
  expect(total.inputTokens).toBeGreaterThan(0);
  expect({ inputTokens: result.stats.inputTokens, outputTokens: result.stats.outputTokens }).toEqual(total);
  expect(result.stats.costUsd).toBeCloseTo(costUsd(total, price), 6);
  expect(result.stats.stopReason).toBeUndefined();
});

it('a budget below the run cost stops it short, says why, and overshoots by at most one wave of calls', async () => {
  // Each call costs about the same; a full run of 40 calls costs 40x. A budget of ~10 calls stops it.
  const probe = await make().startData({ numSteps: 2, batchSize: 1, topics: topicPaths(2), runName: 'probe' });
  await probe.result();
  const perCall = Math.max(...env.llm.calls.map((c) => costUsd(c, price)));
  env.llm.reset();
  const budgetUsd = Number((perCall * 10).toFixed(4));
  const run = await make({ budgetUsd }).startData({ numSteps: 40, batchSize: 1, topics: topicPaths(40), runName: 'budget' });
  const result = await run.result();
  expect(result.status).toBe('stopped');
  expect(result.records).toBeLessThan(40);
  expect(result.records).toBeGreaterThan(0);
  expect(result.stats.stopReason).toMatch(/^budget: \$[\d.]+ would be exceeded/);
  expect(result.stats.budgetUsd).toBe(budgetUsd);
  const spent = costUsd(served(), price);
  expect(result.stats.costUsd).toBeCloseTo(spent, 6);
  const wave = 2 * Math.max(...env.llm.calls.map((c) => costUsd(c, price)));
  expect(spent).toBeLessThanOrEqual(budgetUsd + wave);
  expect(env.llm.calls.length).toBe(result.records); // nothing paid for was thrown away
  expect((await Dataset.load(result.datasetPath)).length).toBe(result.records);
});

it('a budget without a known price is refused before anything starts, naming the field and the fix', () => {
  const gen = new DataSetGenerator({
    modelName: 'ollama/llama3',
    dataDir: env.dataDir,
    budgetUsd: 1,
    temporal: { client: env.client, taskQueue: env.taskQueue },
  });
  return expect(gen.startData({ numSteps: 2, batchSize: 1, topics: topicPaths(2), runName: 'no-price' })).rejects.toThrow(
    /budgetUsd: no price is known for ollama\/llama3.*set price: \{ inputPerMTokUsd, outputPerMTokUsd \}/,
  );
});
