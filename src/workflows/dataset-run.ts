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
 * So here every command is emitted by a handler of exactly one event, synchronously: a slice's
 * completion (`settle`, one microtask after the SDK resolves the activity, the same for success and
 * failure) folds the result, publishes progress and starts the next slices. Nothing is scheduled
 * from a `condition()`. Completions' commands are then the concatenation of each completion's
 * commands, however they were split into activations (test/workflow/activation-grouping.test.ts).
 *
 * SIGNALS AFTER THE COMPLETIONS DELIVERED WITH THEM. Temporal's core hands an activation's signals
 * over before its other jobs, whatever their order in history (seen on replay: "signalWorkflow,
 * signalWorkflow, resolveActivity x 8" for a task whose two signals came after its eight
 * completions). A signal's effect that ran before those completions live, or after them, would
 * replay differently (a chaos run after a sticky task timed out: the pause landed before the
 * completions on replay and after them live; test/fixtures/evidence/signals-sorted-first.json.gz,
 * now a replay test). So a signal handler defers its whole effect past every completion callback of
 * its activation (`afterTheCompletions`: eight microtasks; completion callbacks run one or two
 * microtasks after their jobs). Whole or sorted, an activation then applies its completions first and its signals
 * after, in their order. The one split this cannot see is a query that applied a signal in an
 * earlier activation of the task than completions that came after it in history: live the signal
 * precedes them, on replay it follows. Much rarer (a query must arrive between the two on a worker
 * without the run cached); not seen in the chaos runs since.
 */
import { allHandlersFinished, CancellationScope, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import type { RunInput } from '../config/run-input';
import { applySettingsSignal, pauseSignal, resumeSignal, statsQuery, stopSignal } from './definitions';
import { DatasetRun, type RunCursor, type RunResult } from './run-driver';

export type { RunCursor, RunResult } from './run-driver';

/**
 * Microtasks a signal's effect waits. A completion's callback runs one microtask after its job, a
 * failure's two (a chaos history shows a pause deferred by one landing between the successes and
 * the timed-out slice of its task); eight leave room for both, whatever the order of the jobs.
 */
const SIGNAL_DEFERRAL_MICROTASKS = 8;

/**
 * Runs `fn` after every completion callback of this activation: the SDK runs a signal handler
 * synchronously while it walks the jobs and completion callbacks a microtask or two later, so the
 * signal's effect comes behind all of them (see the file comment for why).
 */
const afterTheCompletions = (fn: () => void) => {
  let p = Promise.resolve();
  for (let i = 0; i < SIGNAL_DEFERRAL_MICROTASKS; i++) p = p.then();
  void p.then(fn);
};

export async function datasetRunWorkflow(input: RunInput, cursor?: RunCursor): Promise<RunResult> {
  const run = new DatasetRun(input, cursor);
  setHandler(statsQuery, () => run.currentStats());
  setHandler(pauseSignal, () => afterTheCompletions(() => run.pause()));
  setHandler(resumeSignal, () => afterTheCompletions(() => run.resume()));
  setHandler(stopSignal, () => afterTheCompletions(() => run.stop()));
  setHandler(applySettingsSignal, (patch) => afterTheCompletions(() => run.applySettings(patch)));
  // Cancelling the workflow cancels the slices in flight (their settle sees it).
  CancellationScope.current().cancelRequested.catch(() => run.cancel());

  await run.schedule();
  if (run.outcome === 'continue') {
    await condition(allHandlersFinished);
    return continueAsNew<typeof datasetRunWorkflow>(...run.carried());
  }
  return run.finish();
}
