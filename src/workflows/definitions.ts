/** Messages a dataset run answers; shared by the workflow and its clients. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RetryStrategy } from '../config/run-input';
import type { GenerationStats } from './stats';

/** Live statistics of the run. */
export const statsQuery = defineQuery<GenerationStats>('getStats');
/** Start no new batches; batches in flight finish. */
export const pauseSignal = defineSignal('pause');
/** Start batches again after a pause. */
export const resumeSignal = defineSignal('resume');
/** Stop gracefully: no new batches, in-flight ones finish, the partial dataset is assembled. */
export const cancelRunSignal = defineSignal('stop');
/** Change how many batches may run at once; returns the new value. */
export const setConcurrencyUpdate = defineUpdate<number, [number]>('setConcurrency');

/** Operational settings a running run takes from a restarted `generate` (they do not change the dataset). */
export interface RunSettingsPatch {
  concurrency?: number;
  retry?: RetryStrategy;
  requestTimeoutSeconds?: number;
  /** A new budget in dollars (a run with a known price only). */
  budgetUsd?: number;
}
/** The operational settings in force after an update. */
export type RunSettings = Required<Omit<RunSettingsPatch, 'budgetUsd'>> & { budgetUsd?: number };
/** Applies operational settings to batches started from now on; returns the settings in force. */
export const updateSettingsUpdate = defineUpdate<RunSettings, [RunSettingsPatch]>('updateSettings');
