/**
 * What a dataset run starts next, and what each finished batch or slice changes: the scheduling
 * state of `datasetRunWorkflow` (slots, batches in flight, retries waiting for a slot, pause, stop,
 * budget, the segment's end) without any Temporal API, so the rules are unit-tested in milliseconds
 * (test/unit/run-scheduler.test.ts) and the workflow only turns decisions into commands.
 *
 * Every method is called from the handler of exactly one event (see the determinism rule in
 * dataset-run.ts), and `fill` returns its starts in the order their commands must be emitted.
 */
import type { BatchSummary, SliceResult } from '../activities/types';
import type { RetryStrategy } from '../config/run-input';
import { advance, nextWork, nextWorkByAcceptance, plannedBatches, type BatchWork, type PlanCursor, type PlanLimits } from './batch-plan';
import { retriedOnItsOwn, retryAfterSlice, RUN_FATAL_TYPES, type BatchFailure } from './failures';
import { budgetRefusal, recordBatch, recordBatchFailure, type StatsState, type TokenPrice } from './stats';

/** A batch of a slice that failed, waiting for a slot to be retried on its own. */
export interface QueuedRetry {
  work: BatchWork;
  attemptsMade: number;
  failure: BatchFailure;
  /** The backoff its activity waits before its first call. */
  delayMs: number;
}

/** One activity to schedule: a batch (runs started before slices), a slice, or a batch of a slice retried on its own. */
export type Start = { kind: 'batch'; work: BatchWork } | { kind: 'slice'; works: BatchWork[] } | { kind: 'retry'; retry: QueuedRetry };

/** A batch or slice activity's failure after its retries, as the workflow read it; `cancelled`: the run's cancellation. */
export type Failed = { failure: BatchFailure } | 'cancelled';
/** How a batch activity ended. */
export type Outcome = { summary: BatchSummary } | Failed;

export interface SchedulerConfig {
  limits: PlanLimits;
  /** Model calls of one batch: `concurrency / callsPerBatch` slots. */
  callsPerBatch: number;
  /** Batches per slice; undefined for runs started before slices (one generateBatch per batch). */
  batchesPerSlice: number | undefined;
  /** Batches this workflow run starts before it continues as new. */
  batchesPerRun: number;
  /** The model's price (the budget needs it). */
  price: TokenPrice | undefined;
  /** Top-ups by examples and acceptance (`nextWorkByAcceptance`); false in runs started before it (patch TOP_UP_BY_ACCEPTANCE). */
  topUpByAcceptance?: boolean;
}

export interface SchedulerSettings {
  concurrency: number;
  paused: boolean;
  retry: RetryStrategy;
  budgetUsd: number | undefined;
}

export class RunScheduler {
  /** Batch index -> examples requested, for every batch running or waiting to be retried. */
  private readonly inFlight = new Map<number, number>();
  /** Activities in flight, one per slot. */
  private running = 0;
  private readonly retryQueue: QueuedRetry[] = [];
  private scheduledThisSegment = 0;
  /** Progress is published once per this many finished batches (~2% of the plan). */
  private readonly progressStep: number;

  concurrency: number;
  paused: boolean;
  retry: RetryStrategy;
  budgetUsd: number | undefined;
  stopRequested = false;
  cancelRequested = false;
  /** This workflow run started its `batchesPerRun` batches: it ends and continues as new. */
  segmentFull = false;
  /** The failure that ends the run (a fatal category), if any. */
  fatal: BatchFailure | undefined;
  /** Nothing is in flight and nothing more will start in this workflow run. */
  ended = false;
  /** The latest accepted example (short), for the memo. */
  latestSample: string | undefined;

  constructor(
    private readonly cfg: SchedulerConfig,
    readonly stats: StatsState,
    readonly plan: PlanCursor,
    settings: SchedulerSettings,
  ) {
    ({ concurrency: this.concurrency, paused: this.paused, retry: this.retry, budgetUsd: this.budgetUsd } = settings);
    this.progressStep = Math.max(1, Math.floor(stats.batchesPlanned / 50));
  }

  /** `concurrency` bounds model calls in flight; at least one slot. */
  batchSlots(): number {
    return Math.max(1, Math.floor(this.concurrency / this.cfg.callsPerBatch));
  }

  /** Batches running now (not those waiting for a slot to be retried). */
  get batchesInFlight(): number {
    return this.inFlight.size - this.retryQueue.length;
  }

  private get halted(): boolean {
    return this.fatal !== undefined || this.stopRequested || this.cancelRequested;
  }

  private pendingWork(): BatchWork | undefined {
    const requestedInFlight = [...this.inFlight.values()].reduce((a, b) => a + b, 0);
    const progress = { accepted: this.stats.accepted, requested: this.stats.requested, requestedInFlight };
    if (!this.cfg.topUpByAcceptance) return nextWork(this.plan, this.cfg.limits, progress);
    const rejected = Object.values(this.stats.rejected).reduce((a, b) => a + b, 0);
    return nextWorkByAcceptance(this.plan, this.cfg.limits, { ...progress, rejected });
  }

  /** Ends scheduling once nothing is in flight and nothing more will start. */
  maybeEnd(): void {
    if (this.ended || this.inFlight.size > 0) return;
    if (this.halted || this.segmentFull || (!this.paused && this.pendingWork() === undefined)) this.ended = true;
  }

  /**
   * Takes up to `n` batches from the plan (each counted in flight at once, so top-ups and the
   * budget see it); stops early at the segment's end or the budget.
   */
  private takeWorks(n: number): BatchWork[] {
    const works: BatchWork[] = [];
    while (works.length < n) {
      if (this.scheduledThisSegment >= this.cfg.batchesPerRun) {
        this.segmentFull = true;
        break;
      }
      const work = this.pendingWork();
      if (!work) break;
      // A budget (absent in runs started before it existed: no change to their commands) stops the run gracefully.
      const price = this.cfg.price;
      const overBudget = this.budgetUsd !== undefined && price ? budgetRefusal(this.stats, price, this.budgetUsd, this.inFlight.size) : undefined;
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
    const max = this.cfg.batchesPerSlice;
    if (max === undefined) return 1;
    if (this.budgetUsd !== undefined && this.stats.batchesDone - this.stats.batchesCached === 0) return 1;
    const left = plannedBatches(this.cfg.limits) - this.plan.nextBatch;
    return left <= 0 ? 1 : Math.min(max, Math.ceil(left / this.batchSlots()));
  }

  /** What to start while slots are free, in order: queued retries first, then new work. */
  fill(): Start[] {
    const starts: Start[] = [];
    const size = this.sliceSize();
    while (!this.ended && !this.halted && !this.paused && this.running < this.batchSlots()) {
      const retried = this.retryQueue.shift();
      if (retried) {
        this.running++;
        starts.push({ kind: 'retry', retry: retried });
        continue;
      }
      const works = this.takeWorks(size);
      if (!works.length) break;
      this.running++;
      starts.push(this.cfg.batchesPerSlice === undefined ? { kind: 'batch', work: works[0]! } : { kind: 'slice', works });
    }
    // A run that stops does not retry: a batch waiting for its retry fails with the failure it had.
    if (this.halted) for (const r of this.retryQueue.splice(0)) this.giveUp(r);
    this.maybeEnd();
    return starts;
  }

  /**
   * A batch activity ended (a batch of a run started before slices, or a sliced batch retried on its
   * own after `attemptsBefore` attempts). Returns whether progress is due (every ~2% of batches).
   */
  batchSettled(work: BatchWork, outcome: Outcome, attemptsBefore = 0): boolean {
    this.running--;
    this.inFlight.delete(work.batchIndex);
    if (outcome === 'cancelled') this.cancelRequested = true;
    else if ('summary' in outcome) this.recordSummary(outcome.summary);
    else this.recordFailure(work, outcome.failure, outcome.failure.nonRetryable ? attemptsBefore + 1 : this.retry.maxRetries + 1);
    return (this.stats.batchesDone + this.stats.batchesFailed) % this.progressStep === 0;
  }

  /**
   * A slice activity ended: its batches' summaries and failures, or the slice's own failure (then
   * each batch is retried on its own; those that had finished return their stored summaries).
   * Returns whether progress is due (the finished batches crossed a ~2% step).
   */
  sliceSettled(works: BatchWork[], outcome: { result: SliceResult } | Failed): boolean {
    this.running--;
    const before = this.stats.batchesDone + this.stats.batchesFailed;
    if (outcome === 'cancelled') {
      for (const w of works) this.inFlight.delete(w.batchIndex);
      this.cancelRequested = true;
    } else if ('result' in outcome) {
      const reported = new Set<number>();
      for (const b of outcome.result.batches) {
        const work = works.find((w) => w.batchIndex === b.batchIndex);
        if (!work) continue;
        reported.add(b.batchIndex);
        if (b.summary) {
          this.inFlight.delete(work.batchIndex);
          this.recordSummary(b.summary);
        } else if (b.failure) this.sliceBatchFailed(work, b.failure, 1);
      }
      for (const w of works)
        if (!reported.has(w.batchIndex))
          this.sliceBatchFailed(w, { category: 'server_error', message: `slice did not report batch ${w.batchIndex}`, nonRetryable: false, details: {} }, 1);
    } else for (const w of works) this.sliceBatchFailed(w, outcome.failure, 1);
    const after = this.stats.batchesDone + this.stats.batchesFailed;
    return Math.floor(after / this.progressStep) !== Math.floor(before / this.progressStep);
  }

  private recordSummary(summary: BatchSummary): void {
    recordBatch(this.stats, summary);
    if (summary.sample) this.latestSample = summary.sample;
  }

  /** Counts a batch that failed for good (after `attempts` attempts); a fatal category ends the run. */
  private recordFailure(work: BatchWork, failure: BatchFailure, attempts: number): void {
    const { inputTokens = 0, outputTokens = 0, ...details } = failure.details;
    recordBatchFailure(this.stats, failure.category, attempts, work.count, { message: failure.message, ...details }, { inputTokens, outputTokens });
    if (RUN_FATAL_TYPES.includes(failure.category)) this.fatal ??= failure;
  }

  /**
   * A batch of a slice failed (its neighbours are unaffected): queued to be retried on its own, or
   * counted as failed. The retry waits for its backoff inside its activity (`retryDelayMs`), not on
   * a workflow timer: every command then stays the direct effect of one completion, and a queued
   * retry takes the next free slot before new work.
   */
  private sliceBatchFailed(work: BatchWork, failure: BatchFailure & { retryAfterMs?: number | undefined }, attemptsMade: number): void {
    // A batch the run's cancellation interrupted is neither failed nor retried (as a cancelled batch activity).
    if (failure.category === 'cancelled' && this.cancelRequested) {
      this.inFlight.delete(work.batchIndex);
      return;
    }
    if (this.halted || !retriedOnItsOwn(failure, this.retry, attemptsMade)) {
      this.inFlight.delete(work.batchIndex);
      this.recordFailure(work, failure, attemptsMade);
      return;
    }
    const delayMs = Math.max(retryAfterSlice(this.retry, attemptsMade).firstDelayMs, failure.retryAfterMs ?? 0);
    this.retryQueue.push({ work, attemptsMade, failure, delayMs });
  }

  /** A queued retry that will not run (the run stops): the batch counts as failed with the failure it had. */
  private giveUp(r: QueuedRetry): void {
    this.inFlight.delete(r.work.batchIndex);
    this.recordFailure(r.work, r.failure, r.attemptsMade);
  }
}
