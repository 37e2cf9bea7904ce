/** Messages a dataset run answers; shared by the workflow and its clients. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RetryStrategy } from '../config/run-input';
import type { GenerationStats } from './stats';

/** Live statistics of the run. */
export const statsQuery = defineQuery<GenerationStats>('getStats');
/** Start no new batches; batches in flight finish. */
export const pauseSignal = defineSignal('pause');
/** Start batches again after a pause. */
export const resumeSignal = defineSignal('resume');
/** Stop gracefully: no new batches, in-flight ones finish, the partial dataset is assembled. */
export const stopSignal = defineSignal('stop');

/** Operational settings a running run takes from a restarted `generate` (they do not change the dataset). */
export interface RunSettingsPatch {
  concurrency?: number;
  retry?: RetryStrategy;
  requestTimeoutSeconds?: number;
  /** A new budget in dollars (a run with a known price only). */
  budgetUsd?: number;
}
/**
 * Applies operational settings to batches started from now on (the client checks them with
 * `settingsProblem` first). A signal and not an update: an update accepted in the workflow task
 * that follows a timed-out one (a worker killed mid-task, then `generate` run again) can replay in
 * another place than it ran (Temporal core, sdk-rust#943/#961; recorded by the chaos test in
 * release 0.1.0 development), which stalls the run for good; a signal is an event of its own and
 * replays in place.
 */
export const applySettingsSignal = defineSignal<[RunSettingsPatch]>('applySettings');

/** Concurrency bounds of a settings change. */
const MAX_CONCURRENCY = 10000;

/** What is wrong with a settings patch, naming the field; undefined when it is valid. `hasPrice`: the run's model has a known price. */
export function settingsProblem(patch: RunSettingsPatch, hasPrice: boolean): string | undefined {
  const n = patch.concurrency;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY)) return `concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${n}`;
  const t = patch.requestTimeoutSeconds;
  if (t !== undefined && !(t > 0)) return `requestTimeoutSeconds must be positive, got ${t}`;
  if (patch.retry && !(Number.isInteger(patch.retry.maxRetries) && patch.retry.maxRetries >= 0)) return `retry.maxRetries must be a non-negative integer`;
  if (patch.budgetUsd !== undefined && !(patch.budgetUsd > 0)) return `budgetUsd must be positive, got ${patch.budgetUsd}`;
  if (patch.budgetUsd !== undefined && !hasPrice) return `budgetUsd needs a known price for the run's model, and this run has none`;
  return undefined;
}
