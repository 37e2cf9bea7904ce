/**
 * Run statistics: a small state the workflow keeps (and carries across continue-as-new) and the
 * `GenerationStats` snapshot the stats query returns. Pure and deterministic.
 */
import type { BatchSummary } from '../activities/types';
import type { BatchCounts } from '../llm/batch-api';
import { costUsd, costWithBatchUsd, type TokenPrice } from '../llm/prices';
import { addQualityCounts, type QualityCounts } from '../config/quality';

export type RunStatus = 'running' | 'paused' | 'completing' | 'completed' | 'stopped' | 'failed' | 'cancelled';

export interface StatsState {
  target: number;
  accepted: number;
  requested: number;
  batchesPlanned: number;
  batchesDone: number;
  batchesFailed: number;
  batchesCached: number;
  /** Model calls made (attempts of finished batches, cached ones excluded). */
  calls: number;
  /** Calls that returned a usable answer. */
  callsOk: number;
  retries: number;
  errorCategories: Record<string, number>;
  rejected: Record<string, number>;
  inputTokens: number;
  outputTokens: number;
  startedAtMs: number;
  lastUpdateMs: number;
  /** Workflow runs this dataset run has spanned (1 + continue-as-new count). */
  segments: number;
  /** The last failure of a batch that failed for good, per category: what the final message names. */
  lastFailures?: Record<string, FailureNote>;
  /** Why the run stopped before its target on its own (e.g. its budget), when it did. */
  stopReason?: string;
  /** The part of the tokens answered through a provider's batch API (billed at the batch price). */
  batchInputTokens?: number;
  batchOutputTokens?: number;
  /** Batch mode: every provider batch of the run by its id, as last seen. */
  providerBatches?: Record<string, ProviderBatchNote>;
  /** Batch mode: calls answered by provider batches, resubmitted in a later one, and made live (deadline, attempts used up). */
  batchLines?: { submitted: number; succeeded: number; unusable: number; errored: number; expired: number; cancelled: number; live: number };
  /**
   * Runs with quality gates: judge calls and tokens (apart from the generator's), the judge's scores
   * per criterion (score -> examples judged) and each validator's passes and failures.
   */
  quality?: QualityCounts;
}

/** One provider batch as the stats show it. */
export interface ProviderBatchNote extends BatchCounts {
  /** The run's batches it carries (`12-36`) and its round (0: first submission; 1+: resubmissions). */
  batches: string;
  round: number;
  /** The provider's own status word. */
  status: string;
}

/** What the run's tokens cost at `price`, the batch-answered ones at the batch price, and its judge's tokens at `judgePrice`. */
export function runCostUsd(s: StatsState, price: TokenPrice, judgePrice?: TokenPrice): number {
  const generation = costWithBatchUsd(s, { inputTokens: s.batchInputTokens ?? 0, outputTokens: s.batchOutputTokens ?? 0 }, price);
  const q = s.quality;
  if (!judgePrice || !q?.judgeCalls) return generation;
  return Math.round((generation + costUsd({ inputTokens: q.judgeInputTokens ?? 0, outputTokens: q.judgeOutputTokens ?? 0 }, judgePrice)) * 1e6) / 1e6;
}

/** Enough of a batch failure to tell the user what went wrong and where (never a secret). */
export interface FailureNote {
  message: string;
  provider?: string | undefined;
  baseUrl?: string | undefined;
  status?: number | null | undefined;
}

/** Live statistics of a run, as the stats query and `getGenerationStats()` return them. */
export interface GenerationStats extends StatsState {
  runId: string;
  status: RunStatus;
  batchesInFlight: number;
  concurrency: number;
  paused: boolean;
  /** Fraction of model calls that returned a usable answer. */
  successRate: number;
  /** Average retries per finished batch. */
  avgRetries: number;
  /** Accepted examples per second since the run started. */
  examplesPerSecond: number;
  /** Seconds to the target at the current rate, or null when unknown. */
  etaSeconds: number | null;
  /** Estimated cost of the tokens so far in dollars, when the model's price is known (the judge's included, when its price is known). */
  costUsd?: number;
  /** The judge's part of it. */
  judgeCostUsd?: number;
  /** The run's budget in dollars, when it has one. */
  budgetUsd?: number;
}

export function newStats(target: number, batchesPlanned: number, startedAtMs: number): StatsState {
  return {
    target,
    accepted: 0,
    requested: 0,
    batchesPlanned,
    batchesDone: 0,
    batchesFailed: 0,
    batchesCached: 0,
    calls: 0,
    callsOk: 0,
    retries: 0,
    errorCategories: {},
    rejected: {},
    inputTokens: 0,
    outputTokens: 0,
    startedAtMs,
    lastUpdateMs: startedAtMs,
    segments: 1,
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Folds one finished batch into the stats. */
export function recordBatch(s: StatsState, b: BatchSummary): void {
  s.batchesDone++;
  s.accepted += b.accepted;
  s.requested += b.requested;
  addCounts(s.rejected, b.rejected);
  // A reused batch's examples are in the dataset (their scores count); its judge calls were paid by an earlier run.
  if (b.quality) s.quality = addQualityCounts(s.quality, b.cached ? { ...b.quality, judgeCalls: 0, judgeInputTokens: 0, judgeOutputTokens: 0 } : b.quality);
  if (b.cached) {
    s.batchesCached++;
  } else {
    const calls = b.calls ?? b.attempts;
    const answered = b.calls !== undefined ? b.calls - Object.values(b.errors).reduce((a, n) => a + n, 0) : 1;
    s.calls += calls;
    s.callsOk += answered;
    s.retries += b.attempts - 1;
    addCounts(s.errorCategories, b.errors);
    s.inputTokens += b.inputTokens;
    s.outputTokens += b.outputTokens;
    if (b.batchInputTokens || b.batchOutputTokens) {
      s.batchInputTokens = (s.batchInputTokens ?? 0) + (b.batchInputTokens ?? 0);
      s.batchOutputTokens = (s.batchOutputTokens ?? 0) + (b.batchOutputTokens ?? 0);
    }
  }
  s.lastUpdateMs = Math.max(s.lastUpdateMs, b.finishedAtMs);
}

/** Folds one batch that failed for good (after its retries) into the stats. */
export function recordBatchFailure(
  s: StatsState,
  category: string,
  attempts: number,
  requested: number,
  note?: FailureNote,
  tokens?: { inputTokens: number; outputTokens: number },
): void {
  s.batchesFailed++;
  s.inputTokens += tokens?.inputTokens ?? 0;
  s.outputTokens += tokens?.outputTokens ?? 0;
  if (note) s.lastFailures = { ...s.lastFailures, [category]: { ...note, message: note.message.slice(0, 500) } };
  s.requested += requested;
  s.calls += attempts;
  s.retries += Math.max(0, attempts - 1);
  s.errorCategories[category] = (s.errorCategories[category] ?? 0) + 1;
}

/**
 * Whether one more batch may start without the run's cost going past its budget: the cost so far
 * plus, for the batches in flight and this one, the average cost of a batch paid so far. Before any
 * batch has been paid for, the first wave starts (its cost is unknown), so a run ends at most about
 * one wave of calls above its budget. Batch mode gives `worstCasePerBatchUsd` instead of the
 * average (its batches are paid hours after they are sent). Returns the reason when it may not.
 */
export function budgetRefusal(
  s: StatsState,
  price: TokenPrice,
  budgetUsd: number,
  inFlight: number,
  worstCasePerBatchUsd?: number,
  judgePrice?: TokenPrice,
): string | undefined {
  const spent = runCostUsd(s, price, judgePrice);
  const paid = s.batchesDone - s.batchesCached;
  const perBatch = worstCasePerBatchUsd ?? (paid > 0 ? spent / paid : 0);
  if (spent < budgetUsd && spent + perBatch * (inFlight + 1) <= budgetUsd) return undefined;
  const what = worstCasePerBatchUsd !== undefined ? 'at most' : 'about';
  return `budget: $${budgetUsd} would be exceeded ($${spent.toFixed(4)} spent, ${what} $${perBatch.toFixed(4)} per batch, ${inFlight} in flight)`;
}

export function snapshot(
  s: StatsState,
  extra: { runId: string; status: RunStatus; batchesInFlight: number; concurrency: number; paused: boolean },
  cost?: { price?: TokenPrice | undefined; budgetUsd?: number | undefined; judgePrice?: TokenPrice | undefined },
): GenerationStats {
  const finished = s.batchesDone - s.batchesCached + s.batchesFailed;
  const elapsedSec = Math.max(0, (s.lastUpdateMs - s.startedAtMs) / 1000);
  const rate = elapsedSec > 0 ? s.accepted / elapsedSec : 0;
  const remaining = Math.max(0, s.target - s.accepted);
  return {
    ...s,
    errorCategories: { ...s.errorCategories },
    rejected: { ...s.rejected },
    ...(s.lastFailures ? { lastFailures: { ...s.lastFailures } } : {}),
    ...(s.providerBatches ? { providerBatches: Object.fromEntries(Object.entries(s.providerBatches).map(([k, v]) => [k, { ...v }])) } : {}),
    ...(s.batchLines ? { batchLines: { ...s.batchLines } } : {}),
    ...(s.quality ? { quality: addQualityCounts(undefined, s.quality) } : {}),
    ...extra,
    successRate: s.calls > 0 ? s.callsOk / s.calls : 1,
    avgRetries: finished > 0 ? s.retries / finished : 0,
    examplesPerSecond: rate,
    etaSeconds: remaining === 0 ? 0 : rate > 0 ? remaining / rate : null,
    ...(cost?.price ? { costUsd: runCostUsd(s, cost.price, cost.judgePrice) } : {}),
    ...(cost?.judgePrice && s.quality?.judgeCalls
      ? { judgeCostUsd: costUsd({ inputTokens: s.quality.judgeInputTokens ?? 0, outputTokens: s.quality.judgeOutputTokens ?? 0 }, cost.judgePrice) }
      : {}),
    ...(cost?.budgetUsd !== undefined ? { budgetUsd: cost.budgetUsd } : {}),
  };
}
