import path from 'node:path';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ConfigurationError, ModelError, RunFailedError, type ErrorCategory, ERROR_CATEGORIES } from '../errors';
import type { datasetRunWorkflow, RunResult } from '../workflows/dataset-run';
import { applySettingsSignal, pauseSignal, resumeSignal, settingsProblem, statsQuery, stopSignal, type RunSettingsPatch } from '../workflows/definitions';
import type { FailureNote, GenerationStats } from '../workflows/stats';
import { adviceFor } from './run-outcome';
import type { Store } from '../storage/store';
import { rideOut } from './ride-out';

/**
 * A live or finished dataset run. Survives the client: `getRun(id)` in a new process attaches to the
 * same run, and queries follow it across continue-as-new.
 */
export class RunHandle {
  readonly handle: WorkflowHandle<typeof datasetRunWorkflow>;
  /**
   * How `startData` came to this run: `started` it, `resumed` one still running (interrupted, or run
   * by another client), or found it `finished` already (a completed run of the same dataset: nothing
   * is generated, its records are reused). Undefined for handles made by `getRun`.
   */
  origin: 'started' | 'resumed' | 'finished' | undefined;
  constructor(
    client: Client,
    readonly runId: string,
    readonly runDir: string | undefined,
    /** This client's view of the run store: results are read from it into `runDir` (see `result`). */
    private readonly store?: Store,
  ) {
    this.handle = client.workflow.getHandle<typeof datasetRunWorkflow>(runId);
  }

  /** Live statistics from the workflow's query. */
  stats(): Promise<GenerationStats> {
    return this.handle.query(statsQuery);
  }
  pause(): Promise<void> {
    return this.handle.signal(pauseSignal);
  }
  resume(): Promise<void> {
    return this.handle.signal(resumeSignal);
  }
  /** Graceful stop: in-flight batches finish, the partial dataset is assembled. */
  stop(): Promise<void> {
    return this.handle.signal(stopSignal);
  }
  /** Cancels the run: in-flight batches are cancelled, the partial dataset is still assembled. */
  async cancel(): Promise<void> {
    await this.handle.cancel();
  }
  /**
   * Changes how many model calls run at once (from the next batch or slice on); returns the value
   * sent. Checked here, then sent as a signal (see `applySettingsSignal` for why not an update).
   */
  async setConcurrency(n: number): Promise<number> {
    const problem = settingsProblem({ concurrency: n }, true);
    if (problem) throw new ConfigurationError(`setConcurrency: ${problem}`);
    await this.handle.signal(applySettingsSignal, { concurrency: n });
    return n;
  }

  /**
   * Applies operational settings (concurrency, retries, request timeout, budget) to batches the run
   * starts from now on: what a restarted `generate` with an edited config does instead of starting
   * over. `hasPrice`: whether the run's model has a known price (a budget needs one).
   */
  async updateSettings(patch: RunSettingsPatch, opts: { hasPrice?: boolean } = {}): Promise<void> {
    const problem = settingsProblem(patch, opts.hasPrice ?? true);
    if (problem) throw new ConfigurationError(`updateSettings: ${problem}`);
    await this.handle.signal(applySettingsSignal, patch);
  }

  /**
   * Waits for the end of the run; failures become this package's errors. An outage of the Temporal
   * frontend is ridden out (the run goes on without this client) for `patienceMs` (default 5
   * minutes), then ends with a `ConnectionLostError` that says the run keeps its progress.
   */
  async result(opts: { patienceMs?: number; onLost?: (err: unknown) => void; onBack?: () => void } = {}): Promise<RunResult> {
    let result: RunResult;
    try {
      result = await rideOut(() => this.handle.result(), {
        patienceMs: opts.patienceMs ?? 5 * 60_000,
        delayMs: 2_000,
        ...(opts.onLost ? { onLost: opts.onLost } : {}),
        ...(opts.onBack ? { onBack: opts.onBack } : {}),
        giveUp: (_err, waited) =>
          `lost Temporal for ${Math.round(waited / 1000)} s while waiting on run ${this.runId}: the run keeps its progress on the server; run the same command again (or deepfabric status ${this.runId}) to re-attach`,
      });
    } catch (err) {
      await this.localDataset().catch(() => undefined); // a failed run's partial data, where the error says it is
      throw toRunError(err, this.runId, this.runDir);
    }
    const local = await this.localDataset();
    return local ? { ...result, ...local } : result;
  }

  /**
   * The run's dataset in this client's run folder, read from this client's store: the worker's paths
   * mean nothing on another machine (its own disk, or PostgreSQL).
   */
  private async localDataset(): Promise<{ datasetPath: string; manifestPath: string } | undefined> {
    if (!this.store || !this.runDir) return undefined;
    const datasetPath = path.join(this.runDir, 'dataset.jsonl');
    const n = await this.store.run(this.runId).exportDataset(datasetPath);
    return n === undefined ? undefined : { datasetPath, manifestPath: path.join(this.runDir, 'manifest.json') };
  }
}

/**
 * Maps a workflow failure to this package's errors: a fatal batch failure (its category and details
 * travel in the failure) becomes a `ModelError`, a cancellation or anything else a `RunFailedError`.
 */
export function toRunError(err: unknown, runId: string, runDir?: string): Error {
  if (!(err instanceof WorkflowFailedError)) return err as Error;
  const cause = err.cause;
  const datasetPath = runDir ? path.join(runDir, 'dataset.jsonl') : undefined;
  const partial = datasetPath ? ` (partial dataset: ${datasetPath})` : '';
  if (cause instanceof CancelledFailure) return new RunFailedError(`run ${runId} was cancelled${partial}`, runId, 'cancelled', { cause: err });
  if (cause instanceof ApplicationFailure && cause.type && (ERROR_CATEGORIES as readonly string[]).includes(cause.type)) {
    const d = (cause.details?.[0] ?? {}) as FailureNote;
    const note: FailureNote = { message: cause.message, provider: d.provider, baseUrl: d.baseUrl, status: d.status };
    return new ModelError(`${cause.message}${partial}. ${adviceFor(cause.type, note)}`, {
      category: cause.type as ErrorCategory,
      provider: d.provider ?? 'model',
      status: d.status ?? undefined,
      baseUrl: d.baseUrl,
      runId,
      datasetPath,
      cause: err,
    });
  }
  return new RunFailedError(`run ${runId} failed: ${cause?.message ?? err.message}${partial}`, runId, 'run_failed', { cause: err });
}
