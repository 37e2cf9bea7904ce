/**
 * What a dataset run starts next, and what each finished slice changes: the scheduling state of
 * `datasetRunWorkflow` (slots, batches in flight, pause, stop, budget, settings, the segment's end)
 * without any Temporal API, so the rules are unit-tested in milliseconds
 * (test/unit/run-scheduler.test.ts) and the workflow only turns decisions into commands.
 *
 * Retries are not decided here: a slice activity whose batch failed retryably fails, and Temporal's
 * retry policy (`modelCallActivityOptions`) retries it; its finished batches come back from the
 * store. What reaches `sliceSettled` is final: summaries, and failures after the policy's attempts.
 *
 * Every method is called from the handler of exactly one event (see the determinism rule in
 * dataset-run.ts), and `fill` returns its slices in the order their commands must be emitted.
 */
import type { BatchSummary, SliceResult } from '../activities/types';
import type { RetryStrategy } from '../config/run-input';
import { advance, nextWork, plannedBatches, type BatchWork, type PlanCursor, type PlanLimits } from './batch-plan';
import type { RunSettingsPatch } from './definitions';
import { retryableUnder, RUN_FATAL_TYPES } from '../config/retry-policy';
import type { BatchFailure } from './failures';
import { BATCH_PRICE_FACTOR, type TokenPrice } from '../llm/prices';
import { budgetRefusal, recordBatch, recordBatchFailure, type StatsState } from './stats';

/** How a slice activity ended: its result, its failure after Temporal's retries (with the batches it finished), or the run's cancellation. */
export type SliceOutcome = { result: SliceResult } | { failure: BatchFailure; finished: SliceResult | undefined } | 'cancelled';

interface SchedulerConfig {
  limits: PlanLimits;
  /** Model calls of one batch: `concurrency / callsPerBatch` slots. */
  callsPerBatch: number;
  /** At most this many batches per slice. */
  batchesPerSlice: number;
  /** Batches this workflow run starts before it continues as new. */
  batchesPerRun: number;
  /** The model's price (the budget needs it). */
  price: TokenPrice | undefined;
  /** The judge model's price, when the run has a judge with a known price (its calls count against the budget too). */
  judgePrice?: TokenPrice | undefined;
  /**
   * Batch mode: a slice is a chunk of up to `worksPerChunk` batches sent as one provider batch,
   * `maxInFlight` chunks at once; the budget counts every batch in flight at its worst case
   * (`maxTokens` out per call) since its cost is known only hours later.
   */
  batchMode?: { maxInFlight: number; worksPerChunk: number; maxTokens: number } | undefined;
}

/** The operational settings a running run may change (`applySettings`). */
interface SchedulerSettings {
  concurrency: number;
  paused: boolean;
  retry: RetryStrategy;
  budgetUsd: number | undefined;
  requestTimeoutSeconds: number;
}

export class RunScheduler {
  /** Batch index -> examples requested, for every batch running. */
  private readonly inFlight = new Map<number, number>();
  /** Slice activities in flight, one per slot. */
  private running = 0;
  private scheduledThisSegment = 0;
  /** Progress is published once per this many finished batches (~2% of the plan). */
  private readonly progressStep: number;
  private settings: SchedulerSettings;
  private stopRequested = false;
  private cancelRequested = false;
  private segmentFull = false;
  private fatalFailure: BatchFailure | undefined;
  private done = false;
  private sample: string | undefined;

  constructor(
    private readonly cfg: SchedulerConfig,
    readonly stats: StatsState,
    readonly plan: PlanCursor,
    settings: SchedulerSettings,
  ) {
    this.settings = { ...settings };
    this.progressStep = Math.max(1, Math.floor(stats.batchesPlanned / 50));
  }

  /** The settings in force. */
  get current(): Readonly<SchedulerSettings> {
    return this.settings;
  }
  /** Nothing is in flight and nothing more will start in this workflow run. */
  get ended(): boolean {
    return this.done;
  }
  /** How this workflow run ends: continued as new (its segment is full), or the run's end. */
  get outcome(): 'continue' | 'cancelled' | 'failed' | 'stopped' | 'completed' {
    if (this.cancelRequested) return 'cancelled';
    if (this.fatalFailure) return 'failed';
    if (this.stopRequested) return 'stopped';
    return this.segmentFull ? 'continue' : 'completed';
  }
  /** The failure that ends the run (a fatal category), if any. */
  get fatal(): BatchFailure | undefined {
    return this.fatalFailure;
  }
  /** The latest accepted example (short), for the memo. */
  get latestSample(): string | undefined {
    return this.sample;
  }
  /** Batches running now. */
  get batchesInFlight(): number {
    return this.inFlight.size;
  }

  pause(): void {
    this.settings.paused = true;
  }
  resume(): void {
    this.settings.paused = false;
  }
  /** Graceful stop: no new slices; the ones in flight finish. */
  stop(): void {
    this.stopRequested = true;
    this.maybeEnd();
  }
  /** The workflow was cancelled: its slices in flight are cancelled (their settle sees it). */
  cancel(): void {
    this.cancelRequested = true;
    this.maybeEnd();
  }
  /** Applies a (checked) settings patch to slices started from now on; a field it lacks keeps its value. */
  applySettings(patch: RunSettingsPatch): void {
    const s = this.settings;
    this.settings = {
      ...s,
      concurrency: patch.concurrency ?? s.concurrency,
      retry: patch.retry ?? s.retry,
      requestTimeoutSeconds: patch.requestTimeoutSeconds ?? s.requestTimeoutSeconds,
      budgetUsd: patch.budgetUsd ?? s.budgetUsd,
    };
  }

  /**
   * Batch mode: what one batch of calls may cost at most at the batch price: `maxTokens` out per
   * call, and the average input per call so far (none before the first answer).
   */
  private worstCasePerBatchUsd(price: TokenPrice): number | undefined {
    const b = this.cfg.batchMode;
    if (!b) return undefined;
    const s = this.stats;
    const inputPerCall = s.calls > 0 ? s.inputTokens / s.calls : 0;
    return (this.cfg.callsPerBatch * (inputPerCall * price.inputPerMTokUsd + b.maxTokens * price.outputPerMTokUsd) * BATCH_PRICE_FACTOR) / 1e6;
  }

  /**
   * Batches one workflow run starts before it continues as new. Batch mode: `maxInFlight` full
   * chunks (a chunk costs a handful of events however long it waits, and a limit of `batchesPerRun`
   * would let one provider batch at a time through a segment: hours each).
   */
  private get segmentLimit(): number {
    const b = this.cfg.batchMode;
    return b ? Math.max(this.cfg.batchesPerRun, b.worksPerChunk * b.maxInFlight) : this.cfg.batchesPerRun;
  }

  /** `concurrency` bounds model calls in flight; at least one slot. Batch mode: provider batches in flight. */
  batchSlots(): number {
    if (this.cfg.batchMode) return this.cfg.batchMode.maxInFlight;
    return Math.max(1, Math.floor(this.settings.concurrency / this.cfg.callsPerBatch));
  }

  private get halted(): boolean {
    return this.fatalFailure !== undefined || this.stopRequested || this.cancelRequested;
  }

  private pendingWork(): BatchWork | undefined {
    const requestedInFlight = [...this.inFlight.values()].reduce((a, b) => a + b, 0);
    const rejected = Object.values(this.stats.rejected).reduce((a, b) => a + b, 0);
    return nextWork(this.plan, this.cfg.limits, { accepted: this.stats.accepted, requested: this.stats.requested, requestedInFlight, rejected });
  }

  /** Ends scheduling once nothing is in flight and nothing more will start. */
  private maybeEnd(): void {
    if (this.done || this.inFlight.size > 0) return;
    if (this.halted || this.segmentFull || (!this.settings.paused && this.pendingWork() === undefined)) this.done = true;
  }

  /**
   * Takes up to `n` batches from the plan (each counted in flight at once, so top-ups and the
   * budget see it); stops early at the segment's end or the budget.
   */
  private takeWorks(n: number): BatchWork[] {
    const works: BatchWork[] = [];
    while (works.length < n) {
      if (this.scheduledThisSegment >= this.segmentLimit) {
        this.segmentFull = true;
        break;
      }
      const work = this.pendingWork();
      if (!work) break;
      // A budget stops the run gracefully.
      const { budgetUsd } = this.settings;
      const price = this.cfg.price;
      const overBudget =
        budgetUsd !== undefined && price
          ? budgetRefusal(this.stats, price, budgetUsd, this.inFlight.size, this.worstCasePerBatchUsd(price), this.cfg.judgePrice)
          : undefined;
      if (overBudget) {
        this.stats.stopReason ??= overBudget;
        this.stopRequested = true;
        break;
      }
      advance(this.plan, this.cfg.limits, work);
      this.scheduledThisSegment++;
      this.inFlight.set(work.batchIndex, work.count);
      works.push(work);
    }
    return works;
  }

  /**
   * Batches per slice for the slices one event starts: the planned batches left, spread over all
   * slots, at most `batchesPerSlice` (so slices shrink toward the end of the run and the last ones
   * end together); one at a time for top-ups (sized from the latest acceptance) and, with a budget,
   * until a batch has been paid for (its cost is unknown before).
   */
  sliceSize(): number {
    if (this.cfg.batchMode) return this.cfg.batchMode.worksPerChunk;
    if (this.settings.budgetUsd !== undefined && this.stats.batchesDone - this.stats.batchesCached === 0) return 1;
    const left = plannedBatches(this.cfg.limits) - this.plan.nextBatch;
    return left <= 0 ? 1 : Math.min(this.cfg.batchesPerSlice, Math.ceil(left / this.batchSlots()));
  }

  /** The slices to start while slots are free, in order. */
  fill(): BatchWork[][] {
    const slices: BatchWork[][] = [];
    const size = this.sliceSize();
    while (!this.done && !this.halted && !this.settings.paused && this.running < this.batchSlots()) {
      const works = this.takeWorks(size);
      if (!works.length) break;
      this.running++;
      slices.push(works);
    }
    this.maybeEnd();
    return slices;
  }

  /**
   * A slice activity ended: its batches' summaries and (final) failures, or the slice's failure after
   * Temporal's retries, with the batches it had finished. Returns whether progress is due (the
   * finished batches crossed a ~2% step).
   */
  sliceSettled(works: BatchWork[], outcome: SliceOutcome): boolean {
    this.running--;
    const before = this.stats.batchesDone + this.stats.batchesFailed;
    const summaries = new Map<number, BatchSummary>();
    const failures = new Map<number, { failure: BatchFailure; attempts: number }>();
    if (outcome === 'cancelled') this.cancelRequested = true;
    else {
      const reported = 'result' in outcome ? outcome.result : outcome.finished;
      for (const b of reported?.batches ?? []) {
        if (b.summary) summaries.set(b.batchIndex, b.summary);
        else if (b.failure) failures.set(b.batchIndex, { failure: b.failure, attempts: this.attemptsOf(b.failure) });
      }
      // The slice's failure (a timeout, a worker that kept dying) is the failure of each batch it did not report.
      if ('failure' in outcome)
        for (const w of works)
          if (!summaries.has(w.batchIndex) && !failures.has(w.batchIndex))
            failures.set(w.batchIndex, { failure: outcome.failure, attempts: this.attemptsOf(outcome.failure) });
    }
    for (const w of works) {
      this.inFlight.delete(w.batchIndex);
      const summary = summaries.get(w.batchIndex);
      const failed = failures.get(w.batchIndex);
      if (summary) this.recordSummary(summary);
      // A batch the run's cancellation interrupted is neither done nor failed.
      else if (failed && !(failed.failure.category === 'cancelled' && this.cancelRequested)) this.recordFailure(w, failed.failure, failed.attempts);
    }
    this.maybeEnd();
    const after = this.stats.batchesDone + this.stats.batchesFailed;
    return Math.floor(after / this.progressStep) !== Math.floor(before / this.progressStep);
  }

  /** Attempts a failed batch made: as it reported, else every attempt of the policy when the policy retries its category. */
  private attemptsOf(failure: BatchFailure): number {
    if (failure.details.attempts !== undefined) return failure.details.attempts;
    const retry = this.settings.retry;
    return retryableUnder(failure, retry.retryOnErrors) ? retry.maxRetries + 1 : 1;
  }

  private recordSummary(summary: BatchSummary): void {
    recordBatch(this.stats, summary);
    if (summary.sample) this.sample = summary.sample;
  }

  /** Counts a batch that failed for good (after `attempts` attempts); a fatal category ends the run. */
  private recordFailure(work: BatchWork, failure: BatchFailure, attempts: number): void {
    const { inputTokens = 0, outputTokens = 0, attempts: _attempts, ...details } = failure.details;
    recordBatchFailure(this.stats, failure.category, attempts, work.count, { message: failure.message, ...details }, { inputTokens, outputTokens });
    if (RUN_FATAL_TYPES.includes(failure.category)) this.fatalFailure ??= failure;
  }
}
