/**
 * The dataset run: plans batches over the topic slots, keeps `concurrency / callsPerBatch` slots
 * busy with slice activities (a few batches sharing call slots), folds their small summaries into
 * stats, tops up rejected examples, and assembles the dataset at the end. Retries, backoff and
 * timeouts are Temporal's retry policy of each slice (activity-options.ts). What to start and what
 * a result changes is decided by `RunScheduler` (run-scheduler.ts, pure); `DatasetRun`
 * (run-driver.ts) turns its decisions into commands; this file wires messages to them.
 * Deterministic: no IO, no clocks but Temporal's, no secrets.
 *
 * THE DETERMINISM RULE OF THIS FILE. A workflow task's commands must depend only on its history
 * events, never on how the SDK grouped those events into activations. Temporal does not promise
 * one activation per workflow task: a worker that answered a query on a run it did not have cached
 * has already applied the completions it saw then, and applies the rest in a second activation of
 * the same task (a chaos run during 0.1.0's development: "2 memo upserts, 6 schedules, 1 memo
 * upsert, 6 schedules" live, "3 memo upserts, 12 schedules" on replay; the history is
 * ../shared/fixtures/chaos-nondeterminism). Code that upserted the memo in each batch's `finally`
 * and scheduled from a loop woken by `condition()`, which the SDK runs only after all of an
 * activation's callbacks, broke the rule.
 *
 * So here every command is emitted by a handler of exactly one event, synchronously, in event
 * order: a slice's completion (`settle`, one microtask after the SDK resolves the activity, the
 * same for success and failure) folds the result, publishes progress and starts the next slices;
 * a signal handler defers its whole effect by one microtask (`afterThisEvent`): the SDK
 * runs handlers synchronously while walking the jobs but activity callbacks a microtask later, so
 * the deferral puts each signal back at its place in the event order. Nothing is scheduled from a
 * `condition()`. The commands of events E1..En are then the concatenation of each event's commands,
 * however the events were split into activations (test/workflow/activation-grouping.test.ts feeds
 * the same events whole and split).
 *
 * KNOWN LIMIT. Temporal's core hands a task's signals over before its other jobs (seen on replay:
 * "signalWorkflow, signalWorkflow, resolveActivity x 8"), so the rule holds for signals only while
 * a task's events arrive in one activation. When a query splits a task (the completions applied at
 * query time, the later signals in a second activation), replay cannot know where the split was,
 * and a signal that changes scheduling can replay in another place than it ran: evidence in
 * test/fixtures/evidence/signals-sorted-first.json.gz (1 chaos run in 21 with frequent queries
 * while pausing).

 */
import { allHandlersFinished, CancellationScope, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import type { RunInput } from '../config/run-input';
import { applySettingsSignal, pauseSignal, resumeSignal, statsQuery, stopSignal } from './definitions';
import { DatasetRun, type RunCursor, type RunResult } from './run-driver';

export type { RunCursor, RunResult } from './run-driver';

/**
 * Runs `fn` one microtask later. The SDK runs a signal handler synchronously while it walks the
 * activation's jobs, but an activity's `.then` one microtask after its job: deferring every
 * handler's effect by one microtask puts it back at its event's place in that queue, so the
 * workflow sees signals and completions in history order, not "signals first".
 */
const afterThisEvent = (fn: () => void) => void Promise.resolve().then(fn);

export async function datasetRunWorkflow(input: RunInput, cursor?: RunCursor): Promise<RunResult> {
  const run = new DatasetRun(input, cursor);
  setHandler(statsQuery, () => run.currentStats());
  setHandler(pauseSignal, () => afterThisEvent(() => run.pause()));
  setHandler(resumeSignal, () => afterThisEvent(() => run.resume()));
  setHandler(stopSignal, () => afterThisEvent(() => run.stop()));
  setHandler(applySettingsSignal, (patch) => afterThisEvent(() => run.applySettings(patch)));
  // Cancelling the workflow cancels the slices in flight (their settle sees it).
  CancellationScope.current().cancelRequested.catch(() => run.cancel());

  await run.schedule();
  if (run.outcome === 'continue') {
    await condition(allHandlersFinished);
    return continueAsNew<typeof datasetRunWorkflow>(...run.carried());
  }
  return run.finish();
}
