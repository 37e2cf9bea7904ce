/**
 * The dataset run's commands: `DatasetRun` owns the run's state (the `RunScheduler`, the stats, the
 * status) and turns the scheduler's decisions into Temporal commands: slice activities, memo and
 * search-attribute upserts, the assembly at the end. `datasetRunWorkflow` (dataset-run.ts) only
 * wires messages to its methods. Deterministic: no IO, no clocks but Temporal's, no secrets.
 *
 * Every method that emits commands runs in the handler of exactly one event (see the determinism
 * rule in dataset-run.ts): the first workflow task (`schedule`), a slice's completion (`settle`),
 * or a signal, after the completions delivered with it (`afterTheCompletions`, see dataset-run.ts).
 */
import {
  CancellationScope,
  CancelledFailure,
  isCancellation,
  log,
  proxyActivities,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, AssembleResult } from '../activities';
import type { RunInput } from '../config/run-input';
import { sliceInputs } from './activity-inputs';
import { MAX_PACED_WAIT_SECONDS } from '../llm/pacing';
import { modelCallActivityOptions } from './activity-options';
import { newPlanCursor, plannedBatches, type BatchWork, type PlanCursor, type PlanLimits } from './batch-plan';
import { settingsProblem, type RunSettingsPatch } from './definitions';
import { describeSliceFailure, runFatalFailure } from './failures';
import { RunScheduler, type SliceOutcome } from './run-scheduler';
import { ProviderBatchChunks } from './provider-batches';
import { DatasetAccepted } from './search-attributes';
import { newStats, snapshot, type RunStatus, type StatsState } from './stats';

/** What a run carries across continue-as-new. */
export interface RunCursor extends PlanCursor {
  concurrency: number;
  paused: boolean;
  stats: StatsState;
}

/** The workflow's result: where the dataset is and how the run went. */
export interface RunResult {
  runId: string;
  status: 'completed' | 'incomplete' | 'cancelled' | 'stopped';
  datasetPath: string;
  manifestPath: string;
  records: number;
  stats: ReturnType<typeof snapshot>;
}

const { assembleDataset } = proxyActivities<Activities>({ startToCloseTimeout: '30m', heartbeatTimeout: '2m', retry: { maximumAttempts: 5 } });
/** Each slice is started with its own options (`executeWithOptions`): the run's retry policy and timeouts in force. */
const { generateSlice } = proxyActivities<Activities>({ startToCloseTimeout: '1m' });

export class DatasetRun {
  private readonly stats: StatsState;
  private readonly plan: PlanCursor;
  private readonly scheduler: RunScheduler;
  private readonly sliceInput: ReturnType<typeof sliceInputs>;
  /** Batch mode: the chunks at the provider's batch API (absent: live calls). */
  private readonly chunks: ProviderBatchChunks | undefined;
  private status: RunStatus = 'running';
  private endScheduling!: () => void;
  private readonly schedulingEnded = new Promise<void>((resolve) => (this.endScheduling = resolve));

  constructor(
    private readonly input: RunInput,
    cursor: RunCursor | undefined,
  ) {
    const limits: PlanLimits = {
      numSteps: input.numSteps,
      examplesPerBatch: input.examplesPerCall * input.callsPerBatch,
      maxExtraBatches: input.maxExtraBatches,
    };
    this.stats = cursor?.stats ?? newStats(input.numSteps, plannedBatches(limits), workflowInfo().startTime.getTime());
    if (cursor) this.stats.segments++;
    this.plan = cursor ? { nextBatch: cursor.nextBatch, nextExample: cursor.nextExample, extraBatchesUsed: cursor.extraBatchesUsed } : newPlanCursor(limits);
    const batchApi = input.batchApi;
    this.scheduler = new RunScheduler(
      {
        limits,
        callsPerBatch: input.callsPerBatch,
        batchesPerSlice: input.batchesPerSlice,
        batchesPerRun: input.batchesPerRun,
        price: input.price,
        judgePrice: input.generation.quality?.judge?.price,
        batchMode: batchApi && {
          maxInFlight: batchApi.maxInFlight,
          worksPerChunk: Math.max(1, Math.floor(batchApi.maxRequests / input.callsPerBatch)),
          maxTokens: input.generation.maxTokens,
        },
      },
      this.stats,
      this.plan,
      {
        concurrency: cursor?.concurrency ?? input.concurrency,
        paused: cursor?.paused ?? false,
        retry: input.retry,
        budgetUsd: input.budgetUsd,
        requestTimeoutSeconds: input.generation.requestTimeoutSeconds,
      },
    );
    this.sliceInput = sliceInputs(input);
    this.chunks =
      batchApi &&
      new ProviderBatchChunks(
        {
          input,
          stats: this.stats,
          sliceInput: (works) => this.sliceInputOf(works),
          finishAsSlice: (works, live) => this.startSlice(works, { live }),
          settle: (works, outcome) => this.settle(works, outcome),
        },
        batchApi,
      );
  }

  /** Live statistics (the stats query). */
  currentStats() {
    const s = this.scheduler;
    const { concurrency, paused, budgetUsd } = s.current;
    const status = paused && this.status === 'running' ? 'paused' : this.status;
    return snapshot(
      this.stats,
      { runId: this.input.runId, status, batchesInFlight: s.batchesInFlight, concurrency, paused },
      { price: this.input.price, budgetUsd, judgePrice: this.input.generation.quality?.judge?.price },
    );
  }

  pause(): void {
    this.scheduler.pause();
  }
  resume(): void {
    this.scheduler.resume();
    this.fill();
  }
  stop(): void {
    this.scheduler.stop();
    this.chunks?.stop();
    this.checkEnd();
  }
  /** The workflow was cancelled: the slices in flight are cancelled (their settle sees it); with none in flight (a paused run) scheduling ends. */
  cancel(): void {
    this.scheduler.cancel();
    this.chunks?.cancel();
    this.checkEnd();
  }
  /** Operational settings for slices started from now on; a bad patch is ignored (a signal cannot be refused; the client checks first). */
  applySettings(patch: RunSettingsPatch): void {
    const problem = settingsProblem(patch, this.input.price !== undefined);
    if (problem) return log.warn(`settings ignored: ${problem}`);
    this.scheduler.applySettings(patch);
    this.fill();
  }

  /** Starts the first wave (in the first workflow task) and waits until nothing is in flight and nothing more will start. */
  async schedule(): Promise<void> {
    this.fill();
    await this.schedulingEnded;
  }

  /** How this workflow run ends: 'continue' as new, or the run's end. */
  get outcome() {
    return this.scheduler.outcome;
  }

  /** The arguments of the next workflow run of the chain (continue-as-new). */
  carried(): [RunInput, RunCursor] {
    const { retry, requestTimeoutSeconds, budgetUsd, concurrency, paused } = this.scheduler.current;
    const input: RunInput = {
      ...this.input,
      retry,
      generation: { ...this.input.generation, requestTimeoutSeconds },
      ...(budgetUsd !== undefined ? { budgetUsd } : {}),
    };
    return [input, { ...this.plan, concurrency, paused, stats: this.stats }];
  }

  /**
   * Assembles the dataset, even when stopped, cancelled or failed: nothing generated is lost, and
   * the manifest says partial. A run that failed keeps its own reason even when assembly fails too
   * (e.g. a worker whose store is not the client's refuses both); otherwise an assembly failure is
   * the run's failure.
   */
  async finish(): Promise<RunResult> {
    const input = this.input;
    const outcome = this.scheduler.outcome === 'continue' ? 'completed' : this.scheduler.outcome;
    const fatal = this.scheduler.fatal ? runFatalFailure(input.runId, this.scheduler.fatal) : undefined;
    this.status = 'completing';
    // A cancelled batch-mode run cancels its provider batches there too (a stopped one did as it stopped).
    if (outcome === 'cancelled' && this.chunks) await CancellationScope.nonCancellable(() => this.chunks!.cancelAtProvider());
    const assembled: AssembleResult | undefined = await CancellationScope.nonCancellable(() =>
      assembleDataset({
        runId: input.runId,
        runDir: input.runDir,
        storeId: input.storeId,
        numSteps: input.numSteps,
        manifest: {
          name: input.name,
          model: `${input.generation.model.provider}/${input.generation.model.model}`,
          conversationType: input.generation.conversationType,
          batchSize: input.examplesPerCall, // the seed's name, in the manifest users read
          ...(input.generation.quality ? { quality: input.generation.quality } : {}),
          status: outcome,
          stats: { ...this.currentStats(), status: outcome }, // not 'completing': the manifest is the run's last word
        },
      }),
    ).catch((err: unknown) => {
      if (fatal) return undefined;
      throw err;
    });
    this.status = outcome;
    this.publishProgress();
    if (fatal || !assembled) throw fatal;
    if (outcome === 'cancelled') throw new CancelledFailure(`run ${input.runId} was cancelled; its partial dataset is at ${assembled.datasetPath}`);
    return {
      runId: input.runId,
      status: outcome === 'stopped' ? 'stopped' : assembled.partial ? 'incomplete' : 'completed',
      datasetPath: assembled.datasetPath,
      manifestPath: assembled.manifestPath,
      records: assembled.records,
      stats: this.currentStats(),
    };
  }

  /**
   * Progress in the memo (and the DatasetAccepted search attribute) once per ~2% of batches (the
   * scheduler decides from the completion events so far), with the latest accepted example (short)
   * for the UI.
   */
  private publishProgress(): void {
    const { stats, status } = this;
    const latest = this.scheduler.latestSample;
    upsertMemo({ progress: { accepted: stats.accepted, target: stats.target, batchesDone: stats.batchesDone, status }, ...(latest ? { latest } : {}) });
    if (this.input.searchAttributes) upsertSearchAttributes([{ key: DatasetAccepted, value: stats.accepted }]);
  }

  /** Starts the slices the scheduler decided, in its order (batch mode: chunks for the provider's batch API); called only from an event's handler. */
  private fill(): void {
    for (const works of this.scheduler.fill()) {
      if (this.chunks) this.chunks.start(works);
      else this.startSlice(works);
    }
    this.checkEnd();
  }

  private checkEnd(): void {
    if (this.scheduler.ended) this.endScheduling();
  }

  /** The slice input of `works` with the settings in force. */
  private sliceInputOf(works: BatchWork[]) {
    const { retry, requestTimeoutSeconds } = this.scheduler.current;
    return this.sliceInput(works, { requestTimeoutSeconds, retryOnErrors: retry.retryOnErrors, firstWave: this.stats.batchesDone === 0 });
  }

  /**
   * One slice: its batches share `callsPerBatch` call slots in one activity, retried by Temporal's
   * policy as a whole. `fromProviderBatch`: batch mode's last step for a chunk (its answers read from
   * the store; `live` calls what the provider did not answer).
   */
  private startSlice(works: BatchWork[], fromProviderBatch?: { live: boolean }): void {
    const { retry, requestTimeoutSeconds } = this.scheduler.current;
    const pacedWait = this.input.pacing ? MAX_PACED_WAIT_SECONDS : 0;
    const options = modelCallActivityOptions(retry, requestTimeoutSeconds, this.input.heartbeatTimeoutSeconds, pacedWait, works.length);
    const first = works[0]!;
    const last = works[works.length - 1]!;
    const summary = `${fromProviderBatch ? 'provider answers of ' : ''}batches ${first.batchIndex}-${last.batchIndex}: ${works.reduce((n, w) => n + w.count, 0)} examples`;
    const slice = { ...this.sliceInputOf(works), ...(fromProviderBatch ? { fromProviderBatch } : {}) };
    // Success and failure both settle one microtask after the SDK resolves the activity.
    generateSlice.executeWithOptions({ ...options, summary }, [slice]).then(
      (result) => this.settle(works, { result }),
      (err: unknown) => this.settle(works, isCancellation(err) ? 'cancelled' : describeSliceFailure(err)),
    );
  }

  private settle(works: BatchWork[], outcome: SliceOutcome): void {
    if (this.scheduler.sliceSettled(works, outcome)) this.publishProgress();
    this.fill();
  }
}
