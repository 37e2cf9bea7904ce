/**
 * Batch mode's pure parts (issue 21): cost at the batch price, the budget counting batches in
 * flight at their worst case, the scheduler's chunks, the refusals of runs batch mode cannot serve,
 * what status and the bar show, and the custom ids that name run, batch and call.
 */
import { GeneratorOptionsSchema } from '../../src/config/generator-options';
import { buildRunPlan, type GeneratorState } from '../../src/client/run-builder';
import { formatStatus, notableEvents, progressLine } from '../../src/client/status-format';
import { applyOverrides } from '../../src/config/yaml-config';
import { customId } from '../../src/activities/provider-batch';
import { costUsd, costWithBatchUsd } from '../../src/llm/prices';
import { DEFAULT_TEMPLATES } from '../../src/prompts/template';
import { BUILTIN_TOOLS } from '../../src/tools/tools';
import { RunScheduler } from '../../src/workflows/run-scheduler';
import { budgetRefusal, newStats, recordBatch, snapshot, type ProviderBatchNote } from '../../src/workflows/stats';
import { newPlanCursor } from '../../src/workflows/batch-plan';
import type { BatchSummary } from '../../src/activities/types';

const state: GeneratorState = { templates: { ...DEFAULT_TEMPLATES }, activeTemplate: 'default', customTemplate: undefined, namedFilters: [] };
const topics = [
  ['R', 'a'],
  ['R', 'b'],
];
const plan = (extra: Record<string, unknown>) =>
  buildRunPlan(
    GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', callMode: 'batch', ...extra }),
    state,
    { topics, numSteps: 4, runName: 'b' },
    '/data',
  );

const summary = (i: number, tokens: number, batchTokens: number): BatchSummary => ({
  batchIndex: i,
  requested: 1,
  accepted: 1,
  rejected: {},
  errors: {},
  attempts: 1,
  calls: 1,
  inputTokens: tokens,
  outputTokens: tokens,
  ...(batchTokens ? { batchInputTokens: batchTokens, batchOutputTokens: batchTokens } : {}),
  latencyMs: 1,
  finishedAtMs: 1,
  cached: false,
});

describe('cost', () => {
  const price = { inputPerMTokUsd: 2, outputPerMTokUsd: 8 };
  it('tokens answered through a batch API cost half the live price; the rest the live price', () => {
    const all = { inputTokens: 3_000_000, outputTokens: 1_000_000 };
    expect(costWithBatchUsd(all, { inputTokens: 0, outputTokens: 0 }, price)).toBeCloseTo(costUsd(all, price), 9);
    expect(costWithBatchUsd(all, all, price)).toBeCloseTo(costUsd(all, price) / 2, 9);
    // 1M input and 1M output live, 2M input batch-priced: 2 + 8 + 2 x 1.
    expect(costWithBatchUsd(all, { inputTokens: 2_000_000, outputTokens: 0 }, price)).toBeCloseTo(12, 9);
  });
  it('the stats add up batch-priced tokens and the cost follows them', () => {
    const s = newStats(10, 10, 0);
    recordBatch(s, summary(0, 1_000_000, 1_000_000));
    recordBatch(s, summary(1, 1_000_000, 0));
    expect([s.batchInputTokens, s.batchOutputTokens]).toEqual([1_000_000, 1_000_000]);
    const snap = snapshot(s, { runId: 'r', status: 'running', batchesInFlight: 0, concurrency: 1, paused: false }, { price });
    expect(snap.costUsd).toBeCloseTo(10 + 5, 6);
  });
  it('a budget counts batches in flight at their worst case in batch mode, at their average live', () => {
    const s = newStats(10, 10, 0);
    recordBatch(s, summary(0, 1, 0)); // $0.00001 spent
    const dollarPerToken = { inputPerMTokUsd: 1_000_000, outputPerMTokUsd: 1_000_000 };
    expect(budgetRefusal(s, dollarPerToken, 100, 10)).toBeUndefined(); // average: $2 a batch, 11 x 2 + 2 < 100
    expect(budgetRefusal(s, dollarPerToken, 100, 10, 9)).toMatch(/at most \$9\.0000 per batch, 10 in flight/); // 2 + 11 x 9 > 100
  });
});

describe('the scheduler in batch mode', () => {
  const make = (budgetUsd?: number) => {
    const limits = { numSteps: 100, examplesPerBatch: 2, maxExtraBatches: 0 };
    const stats = newStats(100, 50, 0);
    return new RunScheduler(
      {
        limits,
        callsPerBatch: 2,
        batchesPerSlice: 4,
        batchesPerRun: 500,
        price: { inputPerMTokUsd: 1_000_000, outputPerMTokUsd: 1_000_000 },
        batchMode: { maxInFlight: 3, worksPerChunk: 20, maxTokens: 1 },
      },
      stats,
      newPlanCursor(limits),
      {
        concurrency: 1,
        paused: false,
        retry: { maxRetries: 0, backoffMultiplier: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 1, retryOnErrors: [] },
        budgetUsd,
        requestTimeoutSeconds: 10,
      },
    );
  };
  it('starts chunks of up to worksPerChunk batches, maxInFlight at once, whatever the concurrency', () => {
    const chunks = make().fill();
    expect(chunks.map((c) => c.length)).toEqual([20, 20, 10]);
    expect(chunks[1]![0]!.batchIndex).toBe(20);
  });
  it('a segment holds maxInFlight full chunks, not batchesPerRun batches (one provider batch per segment would take hours each)', () => {
    const limits = { numSteps: 1000, examplesPerBatch: 2, maxExtraBatches: 0 };
    const retry = { maxRetries: 0, backoffMultiplier: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 1, retryOnErrors: [] };
    const settings = { concurrency: 64, paused: false, retry, budgetUsd: undefined, requestTimeoutSeconds: 10 };
    const cfg = { limits, callsPerBatch: 2, batchesPerSlice: 1, batchesPerRun: 30, price: undefined };
    const batchMode = new RunScheduler(
      { ...cfg, batchMode: { maxInFlight: 3, worksPerChunk: 50, maxTokens: 1 } },
      newStats(1000, 500, 0),
      newPlanCursor(limits),
      settings,
    );
    expect(batchMode.fill().map((c) => c.length)).toEqual([50, 50, 50]);
    const live = new RunScheduler(cfg, newStats(1000, 500, 0), newPlanCursor(limits), settings);
    expect(live.fill().flat()).toHaveLength(30); // 32 slots, but 30 batches a segment
  });
  it('with a budget, sends no more batches than their worst case allows (max tokens out per call, at the batch price)', () => {
    // Worst case per batch: 2 calls x 1 token out x $1 x 0.5 = $1; a $7 budget lets 7 batches go.
    const s = make(7);
    const chunks = s.fill();
    expect(chunks.flat()).toHaveLength(7);
    expect(s.stats.stopReason).toMatch(/^budget: \$7 would be exceeded \(\$0\.0000 spent, at most \$1\.0000 per batch, 7 in flight\)/);
  });
});

describe('run plans', () => {
  it('batch mode defaults: 5,000 calls per provider batch, 10 at once, a poll a minute, one resubmission', () => {
    expect(plan({}).batchApi).toEqual({ maxRequests: 5000, maxInFlight: 10, pollSeconds: 60, attempts: 2 });
    expect(plan({ modelName: 'anthropic/claude-3-5-haiku', batchApi: { deadlineHours: 2, maxRequests: 100_000 } }).batchApi).toMatchObject({
      maxRequests: 100_000,
      deadlineSeconds: 7200,
    });
  });
  it('the same dataset in batch mode has the same run id as live (the mode is how, not what)', () => {
    const live = buildRunPlan(GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini' }), state, { topics, numSteps: 4, runName: 'b' }, '/data');
    expect(plan({}).runId).toBe(live.runId);
    expect(live.batchApi).toBeUndefined();
  });
  it('refuses a provider without a batch API and agent examples with tools, saying what to do', () => {
    expect(() => plan({ modelName: 'ollama/llama3' })).toThrow(
      /callMode batch: ollama has no batch API here; batch mode works with openai and anthropic \(use callMode live\)/,
    );
    const tools = { tools: BUILTIN_TOOLS.slice(0, 1) };
    expect(() => plan({ conversationType: 'agent', tools })).toThrow(/an agent with tools needs each step answered before the next; use callMode live/);
  });
  it('--call-mode takes live or batch and names itself otherwise', () => {
    const cfg = { generation: { call_mode: undefined }, topics: {}, output: {}, llm: {} } as never;
    expect((applyOverrides(cfg, { callMode: 'batch' }) as { generation: { call_mode?: string } }).generation.call_mode).toBe('batch');
    expect(() => applyOverrides(cfg, { callMode: 'cheap' })).toThrow(/--call-mode: expected live or batch, got "cheap"/);
  });
});

describe('what people see', () => {
  const note = (status: string, succeeded: number): ProviderBatchNote => ({
    batches: '0-19',
    round: 0,
    status,
    total: 40,
    processing: 40 - succeeded,
    succeeded,
    errored: 0,
    expired: 0,
    cancelled: 0,
  });
  const stats = (b: Record<string, ProviderBatchNote>) => {
    const s = newStats(100, 50, 0);
    s.providerBatches = b;
    s.batchLines = { submitted: 40, succeeded: 0, unusable: 0, errored: 0, expired: 0, cancelled: 0, live: 0 };
    return snapshot(s, { runId: 'r', status: 'running', batchesInFlight: 20, concurrency: 4, paused: false });
  };
  it('status lists each provider batch with its state and counts; the bar sums the waiting ones', () => {
    const s = stats({ batch_1: note('in_progress', 12), batch_2: note('completed', 40) });
    expect(formatStatus(s)).toMatch(/^provider batch\s+batch_1 in_progress: 40 lines \(processing 28, succeeded 12\), batches 0-19$/m);
    expect(formatStatus(s)).toMatch(/^provider batch\s+batch_2 completed: 40 lines \(succeeded 40\), batches 0-19$/m);
    expect(formatStatus(s)).toMatch(/^batch lines\s+40 submitted: 0 answered, 0 unusable, 0 errored, 0 expired, 0 cancelled; 0 called live$/m);
    expect(progressLine(s, undefined, 120)).toContain('1 provider batch: 12/40 lines');
  });
  it('a new provider batch is announced with what closing the terminal does; a state change in one line', () => {
    const before = stats({ batch_1: note('validating', 0) });
    const after = stats({ batch_1: note('in_progress', 4), batch_2: note('validating', 0) });
    expect(notableEvents(before, after)).toEqual([
      'provider batch batch_1: in_progress (4 of 40 lines answered)',
      'provider batch batch_2 submitted (40 lines, batches 0-19): it runs at the provider, answered within 24 hours. Closing this terminal leaves it there; the same command collects it later',
    ]);
    // The first look (a command that attaches the next day) names the batches still at the provider.
    expect(notableEvents(undefined, stats({ batch_1: note('in_progress', 4), batch_0: note('completed', 40) }))).toEqual([
      'provider batch batch_1 is at the provider (in_progress, 4 of 40 lines answered, batches 0-19). Closing this terminal leaves it there; the same command collects it later',
    ]);
  });
});

it("a line's custom id names the run, the batch and the call, within Anthropic's 64 characters", () => {
  const id = customId('a-very-long-run-name-'.repeat(9), 123456, 63);
  expect(id).toMatch(/^r[0-9a-f]{10}-b123456-c63$/);
  expect(id.length).toBeLessThanOrEqual(64);
  expect(customId('run-a', 1, 2)).not.toBe(customId('run-b', 1, 2));
});
