/**
 * Duplicate examples (issue 13): the local LLM server plants exact and near duplicates among its
 * answers; the dataset loses exactly those, the stats and manifest count them by reason, and the
 * run tops up to its target (the extra calls are counted at the server). Batches in flight at the
 * same time that return one text keep it once.
 */
import { readFileSync } from 'node:fs';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { Dataset } from '../../src/dataset/dataset';
import { recordText, type DatasetRecord } from '../../src/dataset/example-schemas';
import { jaccard, normalise } from '../../src/dataset/dedup';
import { topicPaths } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';

const env = useIntegrationEnv('dedup');
const make = (extra: Record<string, unknown> = {}) =>
  new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    callsPerBatch: 1,
    initialBackoffSeconds: 0.1,
    ...extra,
    temporal: { client: env.client, taskQueue: env.taskQueue },
  });
const words = (seed: number) => Array.from({ length: 40 }, (_, k) => `w${(k * 13 + seed * 31) % 211}`).join(' ');
const answer = (question: string) => ({
  examples: [
    {
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content: `An answer to: ${question}` },
      ],
    },
  ],
});

it('planted exact and near duplicates are dropped, counted by reason, and made up by extra calls', async () => {
  const near2 = words(2).split(' ').slice(0, 39).concat(['changed']).join(' ');
  env.llm.configure({
    respond: ({ callNo }) => {
      if (callNo === 3) return answer(`  ${words(1).toUpperCase()}!`); // call 1 again: case and punctuation differ
      if (callNo === 5) return answer(near2); // call 2 with its last word changed (Jaccard ~0.9)
      return answer(words(callNo));
    },
  });
  const run = await make({ concurrency: 1, dedup: { exact: true, near: 0.8 } }).startData({
    numSteps: 8,
    batchSize: 1,
    topics: topicPaths(8),
    runName: 'planted',
  });
  const result = await run.result();
  expect(result.status).toBe('completed');
  expect(result.records).toBe(8);
  expect(jaccard(recordText(answer(words(2)).examples[0] as DatasetRecord), recordText(answer(near2).examples[0] as DatasetRecord))).toBeGreaterThan(0.85);
  expect(result.stats.rejected).toEqual({ duplicate: 1, 'near-duplicate': 1 });
  expect(env.llm.calls).toHaveLength(10); // 8 + the 2 that replaced the dropped ones
  const texts = [...(await Dataset.load(result.datasetPath))].map((r) => normalise(recordText(r as DatasetRecord)));
  expect(new Set(texts).size).toBe(8);
  expect(texts).not.toContain(normalise(recordText(answer(near2).examples[0] as DatasetRecord)));
  const manifest = JSON.parse(readFileSync(result.manifestPath, 'utf8'));
  expect(manifest.stats.rejected).toEqual({ duplicate: 1, 'near-duplicate': 1 });
});

it('batches in flight together that return one text keep it once', async () => {
  // Calls 1-4 start together (concurrency 4) and all answer the same text.
  env.llm.configure({ latencyMs: 100, respond: ({ callNo }) => answer(callNo <= 4 ? 'the very same question' : words(callNo)) });
  const run = await make({ concurrency: 4, maxExtraBatchFraction: 1 }).startData({ numSteps: 4, batchSize: 1, topics: topicPaths(4), runName: 'together' });
  const result = await run.result();
  expect(env.llm.maxConcurrent).toBe(4);
  expect(result.records).toBe(4);
  expect(result.stats.rejected).toEqual({ duplicate: 3 });
  const texts = [...(await Dataset.load(result.datasetPath))].map((r) => normalise(recordText(r as DatasetRecord)));
  expect(texts.filter((t) => t.includes('the very same question'))).toHaveLength(1);
  expect(new Set(texts).size).toBe(4);
});

it('dedup off: the same answers are all kept', async () => {
  env.llm.configure({ respond: () => answer('always this') });
  const result = await (
    await make({ concurrency: 1, dedup: { exact: false } }).startData({ numSteps: 3, batchSize: 1, topics: topicPaths(3), runName: 'off' })
  ).result();
  expect(result.records).toBe(3);
  expect(result.stats.rejected).toEqual({});
});
