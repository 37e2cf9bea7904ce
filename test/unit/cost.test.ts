import { costUsd, priceFor, PRICE_TABLE } from '../../src/llm/prices';
import { budgetRefusal, newStats, recordBatch, snapshot } from '../../src/workflows/stats';
import type { BatchSummary } from '../../src/activities/types';

const batch = (i: number, inputTokens: number, outputTokens: number): BatchSummary => ({
  batchIndex: i,
  requested: 1,
  accepted: 1,
  rejected: {},
  errors: {},
  attempts: 1,
  calls: 1,
  inputTokens,
  outputTokens,
  latencyMs: 1,
  finishedAtMs: 1,
  cached: false,
});

describe('prices', () => {
  it('finds a listed model, its dated snapshots, and prefers the configured price', () => {
    expect(priceFor('openai', 'gpt-4o-mini')).toEqual(PRICE_TABLE['openai/gpt-4o-mini']);
    expect(priceFor('openai', 'gpt-4o-mini-2024-07-18')).toEqual(PRICE_TABLE['openai/gpt-4o-mini']);
    expect(priceFor('openai', 'gpt-4o-2024-08-06')?.inputPerMTokUsd).toBe(PRICE_TABLE['openai/gpt-4o']!.inputPerMTokUsd);
    expect(priceFor('ollama', 'llama3')).toBeUndefined();
    const own = { inputPerMTokUsd: 1, outputPerMTokUsd: 2, source: 'config' };
    expect(priceFor('ollama', 'llama3', own)).toBe(own);
    for (const [name, p] of Object.entries(PRICE_TABLE)) expect({ name, dated: /\d{4}-\d{2}/.test(p.source) }).toEqual({ name, dated: true });
  });

  it('costs input and output tokens at their own prices', () => {
    expect(costUsd({ inputTokens: 1_000_000, outputTokens: 0 }, { inputPerMTokUsd: 0.15, outputPerMTokUsd: 0.6 })).toBeCloseTo(0.15, 9);
    expect(costUsd({ inputTokens: 2000, outputTokens: 500 }, { inputPerMTokUsd: 3, outputPerMTokUsd: 15 })).toBeCloseTo(0.006 + 0.0075, 9);
  });
});

describe('budget', () => {
  const price = { inputPerMTokUsd: 1_000_000, outputPerMTokUsd: 0 }; // $1 per input token: easy sums

  it('lets the first wave start when nothing has been paid yet', () => {
    const s = newStats(100, 100, 0);
    expect(budgetRefusal(s, price, 5, 0)).toBeUndefined();
    expect(budgetRefusal(s, price, 5, 31)).toBeUndefined();
  });

  it('refuses a batch whose estimated cost, with those in flight, would pass the budget', () => {
    const s = newStats(100, 100, 0);
    recordBatch(s, batch(0, 2, 0));
    recordBatch(s, batch(1, 2, 0)); // $4 spent, $2 per batch
    expect(budgetRefusal(s, price, 10, 0)).toBeUndefined(); // 4 + 2 = 6
    expect(budgetRefusal(s, price, 10, 1)).toBeUndefined(); // 4 + 2 x 2 = 8
    expect(budgetRefusal(s, price, 10, 2)).toBeUndefined(); // 4 + 2 x 3 = 10
    expect(budgetRefusal(s, price, 10, 3)).toMatch(/^budget: \$10 would be exceeded \(\$4\.0000 spent, about \$2\.0000 per batch, 3 in flight\)/);
    expect(budgetRefusal(s, price, 4, 0)).toMatch(/budget/); // spent already
  });

  it('shows the cost and the budget in the stats only when they are known', () => {
    const s = newStats(10, 10, 0);
    recordBatch(s, batch(0, 3, 0));
    const extra = { runId: 'r', status: 'running' as const, batchesInFlight: 0, concurrency: 1, paused: false };
    expect(snapshot(s, extra)).not.toHaveProperty('costUsd');
    expect(snapshot(s, extra, { price, budgetUsd: 7 })).toMatchObject({ costUsd: 3, budgetUsd: 7 });
  });
});
