/**
 * The dataset run: plans batches over the topic slots, keeps at most `concurrency` batch activities
 * in flight, folds their small summaries into stats, tops up rejected examples, and assembles the
 * dataset at the end. Deterministic: no IO, no clocks but Temporal's, no secrets.
 *
 * THE DETERMINISM RULE OF THIS FILE. A workflow task's commands must depend only on its history
 * events, never on how the SDK grouped those events into activations. Temporal does not promise
 * one activation per workflow task: a worker that answered a query on a run it did not have cached
 * has already applied the completions it saw then, and applies the rest in a second activation of
 * the same task (the chaos run in test/fixtures/histories: "2 memo upserts, 6 schedules, 1 memo
 * upsert, 6 schedules" live, "3 memo upserts, 12 schedules" on replay). Version 1 broke the rule:
 * it upserted the memo in each batch's `finally` and scheduled from a loop woken by `condition()`,
 * which the SDK runs only after all of an activation's callbacks.
 *
 * So here every command is emitted by a handler of exactly one event, synchronously, in event
 * order: a batch's completion (`settle`, one microtask after the SDK resolves the activity, the
 * same for success and failure) folds the result, publishes progress and starts the next batches;
 * a signal or update handler defers its whole effect by one microtask (`afterThisEvent`): the SDK
 * runs handlers synchronously while walking the jobs but activity callbacks a microtask later, so
 * the deferral puts each signal back at its place in the event order. Nothing is scheduled from a
 * `condition()`. The commands of events E1..En are then the concatenation of each event's commands,
 * however the events were split into activations (test/workflow/activation-grouping.test.ts feeds
 * the same events whole and split).
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities, AssembleResult, BatchInput, BatchSummary } from '../activities';
import type { RunInput } from '../config/run-input';
import { branchesOf, pathIndexForSlot, type SamplingPlan } from '../topics/sampling';
import { MAX_PACED_WAIT_SECONDS, modelCallActivityOptions } from './activity-options';
import { advance, newPlanCursor, nextWork, plannedBatches, type BatchWork, type PlanLimits } from './batch-plan';
import { datasetRunWorkflowV1 } from './dataset-run-v1';
import { cancelRunSignal, pauseSignal, resumeSignal, setConcurrencyUpdate, statsQuery, updateSettingsUpdate, type RunSettingsPatch } from './definitions';
import { describeBatchFailure, RUN_FATAL_TYPES, runFatalFailure } from './failures';
import { DatasetAccepted } from './search-attributes';
import { budgetRefusal, newStats, recordBatch, recordBatchFailure, snapshot, type RunStatus, type StatsState } from './stats';

/** Patch marker of the completion-driven scheduler; histories without it replay on version 1. */
export const COMPLETION_DRIVEN_SCHEDULING = 'completion-driven-scheduling';

/** What a run carries across continue-as-new (version 1 wrote the same shape). */
export interface RunCursor {
  nextBatch: number;
  nextSlot: number;
  extraBatchesUsed: number;
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

/** Concurrency bounds of the setConcurrency update. */
const MAX_CONCURRENCY = 10000;

export async function datasetRunWorkflow(input: RunInput, cursor?: RunCursor): Promise<RunResult> {
  // Runs started before this scheduler existed keep replaying (and finishing) the code they began with.
  if (!patched(COMPLETION_DRIVEN_SCHEDULING)) return datasetRunWorkflowV1(input, cursor);

  const info = workflowInfo();
  // A batch is `callsPerBatch` model calls of `batchSize` examples each, run at once by one activity.
  // Inputs of runs started before the field existed lack it (1), so their commands are unchanged and
  // no patch is needed: the replay tests of recorded histories cover it.
  const callsPerBatch = input.callsPerBatch ?? 1;
  const limits: PlanLimits = { numSteps: input.numSteps, batchSize: input.batchSize * callsPerBatch, maxExtraBatches: input.maxExtraBatches };
  // `concurrency` bounds model calls in flight; at least one batch runs.
  const batchSlots = () => Math.max(1, Math.floor(concurrency / callsPerBatch));
  const stats = cursor?.stats ?? newStats(input.numSteps, plannedBatches(limits), info.startTime.getTime());
  if (cursor) stats.segments++;
  const plan = cursor ? { nextBatch: cursor.nextBatch, nextSlot: cursor.nextSlot, extraBatchesUsed: cursor.extraBatchesUsed } : newPlanCursor(limits);
  let concurrency = cursor?.concurrency ?? input.concurrency;
  let paused = cursor?.paused ?? false;
  let stopRequested = false;
  let cancelRequested = false;
  let segmentFull = false;
  let status: RunStatus = 'running';
  let fatal: ApplicationFailure | undefined;
  const inFlight = new Map<number, number>(); // batch index -> examples requested
  let scheduledThisSegment = 0;
  let ended = false;
  let endScheduling!: () => void;
  const schedulingEnded = new Promise<void>((resolve) => (endScheduling = resolve));

  const currentStats = () =>
    snapshot(
      stats,
      { runId: input.runId, status: paused && status === 'running' ? 'paused' : status, batchesInFlight: inFlight.size, concurrency, paused },
      { price: input.price, budgetUsd },
    );

  // Operational settings a restarted `generate` may change (updateSettings); they apply to batches started afterwards.
  let retry = input.retry;
  let requestTimeoutSeconds = input.generation.requestTimeoutSeconds;
  let budgetUsd = input.budgetUsd;
  // Runs without pacing (all runs started before it existed) keep their timeouts unchanged.
  const pacedWait = input.pacing ? MAX_PACED_WAIT_SECONDS : 0;
  let batchOptions = modelCallActivityOptions(retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait);
  const { generateBatch } = proxyActivities<Activities>(batchOptions);
  const { assembleDataset } = proxyActivities<Activities>({ startToCloseTimeout: '30m', heartbeatTimeout: '2m', retry: { maximumAttempts: 5 } });

  const inline = input.topics.kind === 'inline' ? input.topics.paths : undefined;
  const sampling: SamplingPlan = {
    strategy: input.sampling.strategy,
    seed: input.sampling.seed,
    count: inline?.length ?? (input.topics.kind !== 'inline' ? input.topics.count : 1),
    branches: inline && input.sampling.strategy === 'balanced' ? branchesOf(inline) : undefined,
    order: input.sampling.order,
  };

  const batchInput = (work: BatchWork): BatchInput => {
    const base = {
      runId: input.runId,
      runDir: input.runDir,
      ...(input.storeId ? { storeId: input.storeId } : {}),
      ...work,
      generation: { ...input.generation, requestTimeoutSeconds },
      firstWave: stats.batchesDone === 0,
      ...(callsPerBatch > 1 ? { examplesPerCall: input.batchSize } : {}),
      ...(input.dedup ? { dedup: input.dedup } : {}),
      ...(input.pacing ? { pacing: input.pacing } : {}),
    };
    if (inline) {
      const topicPaths = Array.from({ length: work.count }, (_, i) => inline[pathIndexForSlot(sampling, work.slotStart + i)]!);
      return { ...base, topicPaths };
    }
    if (input.topics.kind === 'stored') return { ...base, topicsRef: { file: '', stored: true, sampling: input.sampling, count: sampling.count } };
    const file = input.topics.kind === 'file' ? input.topics.file : '';
    return { ...base, topicsRef: { file, sampling: input.sampling, count: sampling.count } };
  };

  // Progress in the memo (and the DatasetAccepted search attribute) once per ~2% of batches: the
  // decision depends only on how many batches have finished, i.e. on the completion events so far.
  const progressStep = Math.max(1, Math.floor(stats.batchesPlanned / 50));
  // The latest accepted example (short), for the UI; batch summaries of older runs carry none, so
  // their memo upserts are unchanged.
  let latestSample: string | undefined;
  const publishProgress = () => {
    upsertMemo({
      progress: { accepted: stats.accepted, target: stats.target, batchesDone: stats.batchesDone, status },
      ...(latestSample ? { latest: latestSample } : {}),
    });
    if (input.searchAttributes) upsertSearchAttributes([{ key: DatasetAccepted, value: stats.accepted }]);
  };

  const requestedInFlight = () => [...inFlight.values()].reduce((a, b) => a + b, 0);
  const pendingWork = () => nextWork(plan, limits, { accepted: stats.accepted, requested: stats.requested, requestedInFlight: requestedInFlight() });

  /** Ends scheduling once nothing is in flight and nothing more will start. */
  const maybeEnd = () => {
    if (ended || inFlight.size > 0) return;
    const halted = fatal !== undefined || stopRequested || cancelRequested || segmentFull;
    if (halted || (!paused && pendingWork() === undefined)) {
      ended = true;
      endScheduling();
    }
  };

  /** Starts batches while slots are free; called only from an event's handler (see the file comment). */
  const fill = () => {
    while (!ended && !fatal && !stopRequested && !cancelRequested && !paused && inFlight.size < batchSlots()) {
      if (scheduledThisSegment >= input.batchesPerRun) {
        segmentFull = true;
        break;
      }
      const work = pendingWork();
      if (!work) break;
      // A budget (absent in runs started before it existed: no change to their commands) stops the run gracefully.
      const overBudget = budgetUsd !== undefined && input.price ? budgetRefusal(stats, input.price, budgetUsd, inFlight.size) : undefined;
      if (overBudget) {
        stats.stopReason ??= overBudget;
        stopRequested = true;
        break;
      }
      advance(plan, limits, work);
      scheduledThisSegment++;
      start(work);
    }
    maybeEnd();
  };

  const start = (work: BatchWork) => {
    inFlight.set(work.batchIndex, work.count);
    const bi = batchInput(work);
    const topic = bi.topicPaths?.[0]?.join(' -> ');
    const summary = `batch ${work.batchIndex}: ${work.count} examples${topic ? `, first topic ${topic.slice(0, 80)}` : ''}`;
    // Success and failure both settle one microtask after the SDK resolves the activity.
    generateBatch.executeWithOptions({ ...batchOptions, summary }, [bi]).then(
      (result) => settle(work, result, undefined),
      (err: unknown) => settle(work, undefined, err),
    );
  };

  const settle = (work: BatchWork, summary: BatchSummary | undefined, err: unknown) => {
    inFlight.delete(work.batchIndex);
    if (summary) {
      recordBatch(stats, summary);
      if (summary.sample) latestSample = summary.sample;
    } else if (isCancellation(err)) cancelRequested = true;
    else {
      const failure = describeBatchFailure(err);
      const { inputTokens = 0, outputTokens = 0, ...details } = failure.details;
      recordBatchFailure(
        stats,
        failure.category,
        failure.nonRetryable ? 1 : retry.maxRetries + 1,
        work.count,
        { message: failure.message, ...details },
        { inputTokens, outputTokens },
      );
      if (RUN_FATAL_TYPES.includes(failure.category) && !fatal) fatal = runFatalFailure(input.runId, failure);
    }
    if ((stats.batchesDone + stats.batchesFailed) % progressStep === 0) publishProgress();
    fill();
  };

  /**
   * Runs `fn` one microtask later. The SDK runs a signal or update handler synchronously while it
   * walks the activation's jobs, but an activity's `.then` one microtask after its job: deferring
   * every handler's effect by one microtask puts it back at its event's place in that queue, so
   * the workflow sees signals, updates and completions in history order, not "signals first".
   */
  const afterThisEvent = (fn: () => void) => void Promise.resolve().then(fn);

  setHandler(statsQuery, currentStats);
  setHandler(pauseSignal, () => afterThisEvent(() => void (paused = true)));
  setHandler(resumeSignal, () =>
    afterThisEvent(() => {
      paused = false;
      fill();
    }),
  );
  setHandler(cancelRunSignal, () =>
    afterThisEvent(() => {
      stopRequested = true;
      maybeEnd();
    }),
  );
  setHandler(
    setConcurrencyUpdate,
    (n: number) => {
      afterThisEvent(() => {
        concurrency = n;
        fill();
      });
      return n;
    },
    {
      validator: (n: number) => {
        if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) throw new Error(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${n}`);
      },
    },
  );
  setHandler(
    updateSettingsUpdate,
    (patch: RunSettingsPatch) => {
      const next = {
        concurrency: patch.concurrency ?? concurrency,
        retry: patch.retry ?? retry,
        requestTimeoutSeconds: patch.requestTimeoutSeconds ?? requestTimeoutSeconds,
      };
      // A patch from before budgets existed has none: the budget in force stays (no change to old histories).
      const nextBudget = patch.budgetUsd ?? budgetUsd;
      afterThisEvent(() => {
        ({ concurrency, retry, requestTimeoutSeconds } = next);
        budgetUsd = nextBudget;
        batchOptions = modelCallActivityOptions(retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait);
        fill();
      });
      return nextBudget !== undefined ? { ...next, budgetUsd: nextBudget } : next;
    },
    {
      validator: (patch: RunSettingsPatch) => {
        const n = patch.concurrency;
        if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY))
          throw new Error(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${n}`);
        const t = patch.requestTimeoutSeconds;
        if (t !== undefined && !(t > 0)) throw new Error(`requestTimeoutSeconds must be positive, got ${t}`);
        if (patch.retry && !(Number.isInteger(patch.retry.maxRetries) && patch.retry.maxRetries >= 0))
          throw new Error(`retry.maxRetries must be a non-negative integer`);
        if (patch.budgetUsd !== undefined && !(patch.budgetUsd > 0)) throw new Error(`budgetUsd must be positive, got ${patch.budgetUsd}`);
        if (patch.budgetUsd !== undefined && !input.price) throw new Error(`budgetUsd needs a known price for the run's model, and this run has none`);
      },
    },
  );
  // Cancelling the workflow cancels the batches in flight (their settle sees it); with none in
  // flight (a paused run) this ends scheduling.
  CancellationScope.current().cancelRequested.catch(() => {
    cancelRequested = true;
    maybeEnd();
  });

  fill(); // the first wave, in the first workflow task
  await schedulingEnded;

  if (segmentFull && !cancelRequested && !fatal && !stopRequested) {
    await condition(allHandlersFinished);
    const carried: RunInput = {
      ...input,
      retry,
      generation: { ...input.generation, requestTimeoutSeconds },
      ...(budgetUsd !== undefined ? { budgetUsd } : {}),
    };
    return continueAsNew<typeof datasetRunWorkflow>(carried, { ...plan, concurrency, paused, stats });
  }

  const outcome = cancelRequested ? 'cancelled' : fatal ? 'failed' : stopRequested ? 'stopped' : 'completed';
  status = 'completing';
  // Assemble even when stopped, cancelled or failed: nothing generated is lost, and the manifest says partial.
  // A run that failed keeps its own reason even when assembly fails too (e.g. a worker whose store is
  // not the client's refuses both); otherwise an assembly failure is the run's failure.
  const assembled: AssembleResult | undefined = await CancellationScope.nonCancellable(() =>
    assembleDataset({
      runId: input.runId,
      runDir: input.runDir,
      ...(input.storeId ? { storeId: input.storeId } : {}),
      numSteps: input.numSteps,
      manifest: {
        name: input.name,
        model: `${input.generation.model.provider}/${input.generation.model.model}`,
        conversationType: input.generation.conversationType,
        batchSize: input.batchSize,
        status: outcome,
        stats: currentStats(),
      },
    }),
  ).catch((err: unknown) => {
    if (fatal) return undefined;
    throw err;
  });
  status = outcome === 'stopped' ? 'stopped' : outcome;
  publishProgress();
  if (fatal || !assembled) throw fatal;
  if (cancelRequested) throw new CancelledFailure(`run ${input.runId} was cancelled; its partial dataset is at ${assembled.datasetPath}`);
  return {
    runId: input.runId,
    status: outcome === 'stopped' ? 'stopped' : assembled.partial ? 'incomplete' : 'completed',
    datasetPath: assembled.datasetPath,
    manifestPath: assembled.manifestPath,
    records: assembled.records,
    stats: currentStats(),
  };
}
