/**
 * The dataset run: plans batches over the topic slots, keeps `concurrency / callsPerBatch` slots
 * busy with slice activities (a few batches sharing call slots; one batch activity per slot in runs
 * started before slices), folds their small summaries into stats, retries a slice's failed batch on
 * its own, tops up rejected examples, and assembles the dataset at the end. What to start and what a
 * result changes is decided by `RunScheduler` (run-scheduler.ts, pure); this file turns its
 * decisions into commands. Deterministic: no IO, no clocks but Temporal's, no secrets.
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
import type { Activities, AssembleResult, SliceResult } from '../activities';
import type { RunInput } from '../config/run-input';
import { activityInputs } from './activity-inputs';
import { MAX_PACED_WAIT_SECONDS, modelCallActivityOptions } from './activity-options';
import { newPlanCursor, plannedBatches, type BatchWork, type PlanLimits } from './batch-plan';
import { datasetRunWorkflowV1 } from './dataset-run-v1';
import {
  applySettingsSignal,
  COMPLETION_DRIVEN_SCHEDULING,
  TOP_UP_BY_ACCEPTANCE,
  cancelRunSignal,
  pauseSignal,
  resumeSignal,
  setConcurrencyUpdate,
  settingsProblem,
  statsQuery,
  updateSettingsUpdate,
  type RunSettingsPatch,
} from './definitions';
import { describeBatchFailure, retryAfterSlice, runFatalFailure } from './failures';
import { RunScheduler, type Failed, type Outcome, type QueuedRetry } from './run-scheduler';
import { DatasetAccepted } from './search-attributes';
import { newStats, snapshot, type RunStatus, type StatsState } from './stats';

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

export async function datasetRunWorkflow(input: RunInput, cursor?: RunCursor): Promise<RunResult> {
  // Runs started before this scheduler existed keep replaying (and finishing) the code they began with.
  if (!patched(COMPLETION_DRIVEN_SCHEDULING)) return datasetRunWorkflowV1(input, cursor);

  const info = workflowInfo();
  // A batch is `callsPerBatch` model calls of `batchSize` examples each. Inputs of runs started
  // before the field existed lack it (1), and those started before slices lack `batchesPerSlice`
  // (one generateBatch activity per batch): their commands are unchanged and no patch is needed,
  // the replay tests of recorded histories cover it.
  const callsPerBatch = input.callsPerBatch ?? 1;
  const limits: PlanLimits = { numSteps: input.numSteps, batchSize: input.batchSize * callsPerBatch, maxExtraBatches: input.maxExtraBatches };
  const stats = cursor?.stats ?? newStats(input.numSteps, plannedBatches(limits), info.startTime.getTime());
  if (cursor) stats.segments++;
  const plan = cursor ? { nextBatch: cursor.nextBatch, nextSlot: cursor.nextSlot, extraBatchesUsed: cursor.extraBatchesUsed } : newPlanCursor(limits);
  const s = new RunScheduler(
    {
      limits,
      callsPerBatch,
      batchesPerSlice: input.batchesPerSlice,
      batchesPerRun: input.batchesPerRun,
      price: input.price,
      topUpByAcceptance: patched(TOP_UP_BY_ACCEPTANCE),
    },
    stats,
    plan,
    { concurrency: cursor?.concurrency ?? input.concurrency, paused: cursor?.paused ?? false, retry: input.retry, budgetUsd: input.budgetUsd },
  );
  let status: RunStatus = 'running';
  let endScheduling!: () => void;
  const schedulingEnded = new Promise<void>((resolve) => (endScheduling = resolve));

  const currentStats = () =>
    snapshot(
      stats,
      {
        runId: input.runId,
        status: s.paused && status === 'running' ? 'paused' : status,
        batchesInFlight: s.batchesInFlight,
        concurrency: s.concurrency,
        paused: s.paused,
      },
      { price: input.price, budgetUsd: s.budgetUsd },
    );

  // The request timeout a restarted `generate` may change (with concurrency, retries and budget, which the scheduler keeps).
  let requestTimeoutSeconds = input.generation.requestTimeoutSeconds;
  // Runs without pacing (all runs started before it existed) keep their timeouts unchanged.
  const pacedWait = input.pacing ? MAX_PACED_WAIT_SECONDS : 0;
  let batchOptions = modelCallActivityOptions(s.retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait);
  const { generateBatch, generateSlice } = proxyActivities<Activities>(batchOptions);
  const { assembleDataset } = proxyActivities<Activities>({ startToCloseTimeout: '30m', heartbeatTimeout: '2m', retry: { maximumAttempts: 5 } });

  const inputs = activityInputs(input);
  // Built when the activity starts: the request timeout in force, and whether a batch has succeeded yet.
  const now = () => ({ requestTimeoutSeconds, firstWave: stats.batchesDone === 0 });
  const batchInput = (work: BatchWork) => inputs.batch(work, now());
  const sliceInput = (works: BatchWork[]) => inputs.slice(works, now());

  // Progress in the memo (and the DatasetAccepted search attribute) once per ~2% of batches (the
  // scheduler decides from the completion events so far). The latest accepted example (short) is
  // for the UI; batch summaries of older runs carry none, so their memo upserts are unchanged.
  const publishProgress = () => {
    upsertMemo({
      progress: { accepted: stats.accepted, target: stats.target, batchesDone: stats.batchesDone, status },
      ...(s.latestSample ? { latest: s.latestSample } : {}),
    });
    if (input.searchAttributes) upsertSearchAttributes([{ key: DatasetAccepted, value: stats.accepted }]);
  };

  /** Schedules what the scheduler decided, in its order; called only from an event's handler (see the file comment). */
  const fill = () => {
    for (const start of s.fill()) {
      if (start.kind === 'batch') startBatch(start.work);
      else if (start.kind === 'slice') startSlice(start.works);
      else startRetry(start.retry);
    }
    if (s.ended) endScheduling();
  };
  const maybeEnd = () => {
    s.maybeEnd();
    if (s.ended) endScheduling();
  };
  /** A batch activity's failure after its retries, as the scheduler reads it. */
  const outcomeOf = (err: unknown): Failed => (isCancellation(err) ? 'cancelled' : { failure: describeBatchFailure(err) });

  const startBatch = (work: BatchWork) => {
    const bi = batchInput(work);
    const topic = bi.topicPaths?.[0]?.join(' -> ');
    const summary = `batch ${work.batchIndex}: ${work.count} examples${topic ? `, first topic ${topic.slice(0, 80)}` : ''}`;
    // Success and failure both settle one microtask after the SDK resolves the activity.
    generateBatch.executeWithOptions({ ...batchOptions, summary }, [bi]).then(
      (result) => settleBatch(work, { summary: result }),
      (err: unknown) => settleBatch(work, outcomeOf(err)),
    );
  };

  const settleBatch = (work: BatchWork, outcome: Outcome, attemptsBefore = 0) => {
    if (s.batchSettled(work, outcome, attemptsBefore)) publishProgress();
    fill();
  };

  /** A sliced batch retried on its own: a generateBatch activity with the attempts and backoff it has left. */
  const startRetry = ({ work, attemptsMade, delayMs }: QueuedRetry) => {
    const options = modelCallActivityOptions(
      retryAfterSlice(s.retry, attemptsMade).strategy,
      requestTimeoutSeconds,
      input.heartbeatTimeoutSeconds,
      pacedWait + delayMs / 1000,
    );
    const summary = `batch ${work.batchIndex}: retried on its own after ${attemptsMade} attempt(s) in its slice`;
    generateBatch.executeWithOptions({ ...options, summary }, [{ ...batchInput(work), priorAttempts: attemptsMade, retryDelayMs: delayMs }]).then(
      (result) => settleBatch(work, { summary: result }, attemptsMade),
      (err: unknown) => settleBatch(work, outcomeOf(err), attemptsMade),
    );
  };

  /** Starts one slice: its batches share `callsPerBatch` call slots in one activity. */
  const startSlice = (works: BatchWork[]) => {
    const first = works[0]!;
    const last = works[works.length - 1]!;
    const options = modelCallActivityOptions(s.retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait, works.length);
    const summary = `batches ${first.batchIndex}-${last.batchIndex}: ${works.reduce((n, w) => n + w.count, 0)} examples`;
    generateSlice.executeWithOptions({ ...options, summary }, [sliceInput(works)]).then(
      (result) => settleSlice(works, { result }),
      (err: unknown) => settleSlice(works, outcomeOf(err)),
    );
  };

  const settleSlice = (works: BatchWork[], outcome: { result: SliceResult } | Failed) => {
    if (s.sliceSettled(works, outcome)) publishProgress();
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
  setHandler(pauseSignal, () => afterThisEvent(() => void (s.paused = true)));
  setHandler(resumeSignal, () =>
    afterThisEvent(() => {
      s.paused = false;
      fill();
    }),
  );
  setHandler(cancelRunSignal, () =>
    afterThisEvent(() => {
      s.stopRequested = true;
      maybeEnd();
    }),
  );
  /** The settings in force after `patch` (a field it lacks keeps its value; a patch from before budgets keeps the budget). */
  const settingsAfter = (patch: RunSettingsPatch) => ({
    concurrency: patch.concurrency ?? s.concurrency,
    retry: patch.retry ?? s.retry,
    requestTimeoutSeconds: patch.requestTimeoutSeconds ?? requestTimeoutSeconds,
    budgetUsd: patch.budgetUsd ?? s.budgetUsd,
  });
  const applySettings = (next: ReturnType<typeof settingsAfter>) => {
    ({ concurrency: s.concurrency, retry: s.retry, requestTimeoutSeconds, budgetUsd: s.budgetUsd } = next);
    batchOptions = modelCallActivityOptions(s.retry, requestTimeoutSeconds, input.heartbeatTimeoutSeconds, pacedWait);
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
        s.concurrency = n;
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
    s.cancelRequested = true;
    maybeEnd();
  });

  fill(); // the first wave, in the first workflow task
  await schedulingEnded;

  const { cancelRequested, stopRequested } = s;
  const fatal = s.fatal ? runFatalFailure(input.runId, s.fatal) : undefined;
  if (s.segmentFull && !cancelRequested && !fatal && !stopRequested) {
    await condition(allHandlersFinished);
    const carried: RunInput = {
      ...input,
      retry: s.retry,
      generation: { ...input.generation, requestTimeoutSeconds },
      ...(s.budgetUsd !== undefined ? { budgetUsd: s.budgetUsd } : {}),
    };
    return continueAsNew<typeof datasetRunWorkflow>(carried, { ...plan, concurrency: s.concurrency, paused: s.paused, stats });
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
