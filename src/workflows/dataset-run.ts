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
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities, AssembleResult, BatchInput, BatchSummary, SliceInput, SliceResult } from '../activities';
import type { RunInput } from '../config/run-input';
import { branchesOf, pathIndexForSlot, type SamplingPlan } from '../topics/sampling';
import { MAX_PACED_WAIT_SECONDS, modelCallActivityOptions } from './activity-options';
import { advance, newPlanCursor, nextWork, plannedBatches, type BatchWork, type PlanLimits } from './batch-plan';
import { datasetRunWorkflowV1 } from './dataset-run-v1';
import {
  applySettingsSignal,
  COMPLETION_DRIVEN_SCHEDULING,
  cancelRunSignal,
  pauseSignal,
  resumeSignal,
  setConcurrencyUpdate,
  settingsProblem,
  statsQuery,
  updateSettingsUpdate,
  type RunSettingsPatch,
} from './definitions';
import { describeBatchFailure, retriedOnItsOwn, retryAfterSlice, RUN_FATAL_TYPES, runFatalFailure, type BatchFailure } from './failures';
import { DatasetAccepted } from './search-attributes';
import { budgetRefusal, newStats, recordBatch, recordBatchFailure, snapshot, type RunStatus, type StatsState } from './stats';

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

/** A batch of a slice that failed, waiting for a slot to be retried on its own. */
interface QueuedRetry {
  work: BatchWork;
  attemptsMade: number;
  failure: BatchFailure;
  /** The backoff its activity waits before its first call. */
  delayMs: number;
}

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
  // Slices (absent in runs started before them: one generateBatch activity per batch, commands
  // unchanged, no patch needed): a slot runs one generateSlice activity of up to this many batches.
  const batchesPerSlice = input.batchesPerSlice;
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
  const inFlight = new Map<number, number>(); // batch index -> examples requested (running, or waiting to be retried)
  let running = 0; // activities in flight, each in one slot
  const retryQueue: QueuedRetry[] = []; // batches of slices waiting for a slot to be retried on their own
  let scheduledThisSegment = 0;
  let ended = false;
  let endScheduling!: () => void;
  const schedulingEnded = new Promise<void>((resolve) => (endScheduling = resolve));

  const currentStats = () =>
    snapshot(
      stats,
      {
        runId: input.runId,
        status: paused && status === 'running' ? 'paused' : status,
        batchesInFlight: inFlight.size - retryQueue.length,
        concurrency,
        paused,
      },
      { price: input.price, budgetUsd },
    );

  // Operational settings a restarted `generate` may change (updateSettings); they apply to batches started afterwards.
  let retry = input.retry;
  let requestTimeoutSeconds = input.generation.requestTimeoutSeconds;
  let budgetUsd = input.budgetUsd;
  // Runs without pacing (all runs started before it existed) keep their timeouts unchanged.
  const pacedWait = input.pacing ? MAX_PACED_WAIT_SECONDS : 0;
  let batchOptions = modelCallActivityOptions(retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait);
  const { generateBatch, generateSlice } = proxyActivities<Activities>(batchOptions);
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
    if (inline) return { ...base, topicPaths: inlinePaths(work) };
    return { ...base, topicsRef: topicsRef() };
  };
  const inlinePaths = (work: BatchWork) => Array.from({ length: work.count }, (_, i) => inline![pathIndexForSlot(sampling, work.slotStart + i)]!);
  const topicsRef = () =>
    input.topics.kind === 'stored'
      ? { file: '', stored: true, sampling: input.sampling, count: sampling.count }
      : { file: input.topics.kind === 'file' ? input.topics.file : '', sampling: input.sampling, count: sampling.count };

  const sliceInput = (works: BatchWork[]): SliceInput => ({
    runId: input.runId,
    runDir: input.runDir,
    ...(input.storeId ? { storeId: input.storeId } : {}),
    generation: { ...input.generation, requestTimeoutSeconds },
    firstWave: stats.batchesDone === 0,
    examplesPerCall: input.batchSize,
    ...(input.dedup ? { dedup: input.dedup } : {}),
    ...(input.pacing ? { pacing: input.pacing } : {}),
    ...(inline ? {} : { topicsRef: topicsRef() }),
    batches: works.map((w) => (inline ? { ...w, topicPaths: inlinePaths(w) } : w)),
    callsInFlight: callsPerBatch,
  });

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

  /**
   * Takes up to `n` batches from the plan (each counted in flight at once, so top-ups and the
   * budget see it); stops early at the segment's end or the budget.
   */
  const takeWorks = (n: number): BatchWork[] => {
    const works: BatchWork[] = [];
    while (works.length < n) {
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
      inFlight.set(work.batchIndex, work.count);
      works.push(work);
    }
    return works;
  };

  /**
   * Batches per slice for the slices one event starts: the planned batches left, spread over all
   * slots, at most `batchesPerSlice` (so slices shrink toward the end of the run and the last ones
   * end together); one at a time for top-ups (sized from the latest acceptance) and, with a budget,
   * until a batch has been paid for (its cost is unknown before).
   */
  const sliceSize = (): number => {
    if (batchesPerSlice === undefined) return 1;
    if (budgetUsd !== undefined && stats.batchesDone - stats.batchesCached === 0) return 1;
    const left = plannedBatches(limits) - plan.nextBatch;
    return left <= 0 ? 1 : Math.min(batchesPerSlice, Math.ceil(left / batchSlots()));
  };

  /** Starts work while slots are free; called only from an event's handler (see the file comment). */
  const fill = () => {
    const size = sliceSize();
    while (!ended && !fatal && !stopRequested && !cancelRequested && !paused && running < batchSlots()) {
      const retried = retryQueue.shift();
      if (retried) {
        startRetry(retried);
        continue;
      }
      const works = takeWorks(size);
      if (!works.length) break;
      if (batchesPerSlice === undefined) start(works[0]!);
      else startSlice(works);
    }
    // A run that stops does not retry: a batch waiting for its retry fails with the failure it had.
    if (fatal || stopRequested || cancelRequested) for (const r of retryQueue.splice(0)) giveUp(r);
    maybeEnd();
  };

  const start = (work: BatchWork) => {
    running++;
    const bi = batchInput(work);
    const topic = bi.topicPaths?.[0]?.join(' -> ');
    const summary = `batch ${work.batchIndex}: ${work.count} examples${topic ? `, first topic ${topic.slice(0, 80)}` : ''}`;
    // Success and failure both settle one microtask after the SDK resolves the activity.
    generateBatch.executeWithOptions({ ...batchOptions, summary }, [bi]).then(
      (result) => settle(work, result, undefined),
      (err: unknown) => settle(work, undefined, err),
    );
  };

  const settle = (work: BatchWork, summary: BatchSummary | undefined, err: unknown, attemptsBefore = 0) => {
    running--;
    inFlight.delete(work.batchIndex);
    if (summary) {
      recordBatch(stats, summary);
      if (summary.sample) latestSample = summary.sample;
    } else if (isCancellation(err)) cancelRequested = true;
    else {
      const failure = describeBatchFailure(err);
      recordFailure(work, failure, failure.nonRetryable ? attemptsBefore + 1 : retry.maxRetries + 1);
    }
    if ((stats.batchesDone + stats.batchesFailed) % progressStep === 0) publishProgress();
    fill();
  };

  /** Counts a batch that failed for good (after `attempts` attempts); a fatal category ends the run. */
  const recordFailure = (work: BatchWork, failure: BatchFailure, attempts: number) => {
    const { inputTokens = 0, outputTokens = 0, ...details } = failure.details;
    recordBatchFailure(stats, failure.category, attempts, work.count, { message: failure.message, ...details }, { inputTokens, outputTokens });
    if (RUN_FATAL_TYPES.includes(failure.category) && !fatal) fatal = runFatalFailure(input.runId, failure);
  };

  /**
   * A batch of a slice failed (its neighbours are unaffected): queued to be retried on its own, or
   * counted as failed. The retry waits for its backoff inside its activity (`retryDelayMs`), not on
   * a workflow timer: every command then stays the direct effect of one completion (see the file
   * comment), and a queued retry takes the next free slot before new work.
   */
  const sliceBatchFailed = (work: BatchWork, failure: BatchFailure & { retryAfterMs?: number | undefined }, attemptsMade: number) => {
    // A batch the run's cancellation interrupted is neither failed nor retried (as a cancelled batch activity).
    if (failure.category === 'cancelled' && cancelRequested) {
      inFlight.delete(work.batchIndex);
      return;
    }
    if (fatal || stopRequested || cancelRequested || !retriedOnItsOwn(failure, retry, attemptsMade)) {
      inFlight.delete(work.batchIndex);
      recordFailure(work, failure, attemptsMade);
      return;
    }
    const delayMs = Math.max(retryAfterSlice(retry, attemptsMade).firstDelayMs, failure.retryAfterMs ?? 0);
    retryQueue.push({ work, attemptsMade, failure, delayMs });
  };

  /** A queued retry that will not run (the run stops): the batch counts as failed with the failure it had. */
  const giveUp = (r: QueuedRetry) => {
    inFlight.delete(r.work.batchIndex);
    recordFailure(r.work, r.failure, r.attemptsMade);
  };

  /** A sliced batch retried on its own: a generateBatch activity with the attempts and backoff it has left. */
  const startRetry = ({ work, attemptsMade, delayMs }: QueuedRetry) => {
    running++;
    const options = modelCallActivityOptions(
      retryAfterSlice(retry, attemptsMade).strategy,
      requestTimeoutSeconds,
      input.heartbeatTimeoutSeconds,
      pacedWait + delayMs / 1000,
    );
    const summary = `batch ${work.batchIndex}: retried on its own after ${attemptsMade} attempt(s) in its slice`;
    generateBatch.executeWithOptions({ ...options, summary }, [{ ...batchInput(work), priorAttempts: attemptsMade, retryDelayMs: delayMs }]).then(
      (result) => settle(work, result, undefined, attemptsMade),
      (err: unknown) => settle(work, undefined, err, attemptsMade),
    );
  };

  /** Starts one slice: its batches share `callsPerBatch` call slots in one activity. */
  const startSlice = (works: BatchWork[]) => {
    running++;
    const first = works[0]!;
    const last = works[works.length - 1]!;
    const options = modelCallActivityOptions(retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait, works.length);
    const summary = `batches ${first.batchIndex}-${last.batchIndex}: ${works.reduce((n, w) => n + w.count, 0)} examples`;
    generateSlice.executeWithOptions({ ...options, summary }, [sliceInput(works)]).then(
      (result) => settleSlice(works, result, undefined),
      (err: unknown) => settleSlice(works, undefined, err),
    );
  };

  const settleSlice = (works: BatchWork[], result: SliceResult | undefined, err: unknown) => {
    running--;
    const before = stats.batchesDone + stats.batchesFailed;
    if (result) {
      for (const b of result.batches) {
        const work = works.find((w) => w.batchIndex === b.batchIndex);
        if (!work) continue;
        if (b.summary) {
          inFlight.delete(work.batchIndex);
          recordBatch(stats, b.summary);
          if (b.summary.sample) latestSample = b.summary.sample;
        } else if (b.failure) sliceBatchFailed(work, b.failure, 1);
      }
      for (const w of works)
        if (!result.batches.some((b) => b.batchIndex === w.batchIndex))
          sliceBatchFailed(w, { category: 'server_error', message: `slice did not report batch ${w.batchIndex}`, nonRetryable: false, details: {} }, 1);
    } else if (isCancellation(err)) {
      for (const w of works) inFlight.delete(w.batchIndex);
      cancelRequested = true;
    } else {
      // The slice itself failed after its retries (a worker that kept dying, a timeout): each of its
      // batches is retried on its own, and those that had finished return their stored summaries.
      const failure = describeBatchFailure(err);
      for (const w of works) sliceBatchFailed(w, failure, 1);
    }
    const after = stats.batchesDone + stats.batchesFailed;
    if (Math.floor(after / progressStep) !== Math.floor(before / progressStep)) publishProgress();
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
  /** The settings in force after `patch` (a field it lacks keeps its value; a patch from before budgets keeps the budget). */
  const settingsAfter = (patch: RunSettingsPatch) => ({
    concurrency: patch.concurrency ?? concurrency,
    retry: patch.retry ?? retry,
    requestTimeoutSeconds: patch.requestTimeoutSeconds ?? requestTimeoutSeconds,
    budgetUsd: patch.budgetUsd ?? budgetUsd,
  });
  const applySettings = (next: ReturnType<typeof settingsAfter>) => {
    ({ concurrency, retry, requestTimeoutSeconds, budgetUsd } = next);
    batchOptions = modelCallActivityOptions(retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait);
    fill();
  };
  const rejectBadSettings = (patch: RunSettingsPatch) => {
    const problem = settingsProblem(patch, input.price !== undefined);
    if (problem) throw new Error(problem);
  };
  // What today's client sends (checked there first); a bad patch is ignored, as a signal cannot be refused.
  setHandler(applySettingsSignal, (patch: RunSettingsPatch) => {
    const problem = settingsProblem(patch, input.price !== undefined);
    if (problem) log.warn(`settings ignored: ${problem}`);
    else afterThisEvent(() => applySettings(settingsAfter(patch)));
  });
  // The updates older clients send.
  setHandler(
    setConcurrencyUpdate,
    (n: number) => {
      afterThisEvent(() => {
        concurrency = n;
        fill();
      });
      return n;
    },
    { validator: (n: number) => rejectBadSettings({ concurrency: n }) },
  );
  setHandler(
    updateSettingsUpdate,
    (patch: RunSettingsPatch) => {
      const next = settingsAfter(patch);
      afterThisEvent(() => applySettings(next));
      const { budgetUsd: nextBudget, ...rest } = next;
      return nextBudget !== undefined ? { ...rest, budgetUsd: nextBudget } : rest;
    },
    { validator: rejectBadSettings },
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
