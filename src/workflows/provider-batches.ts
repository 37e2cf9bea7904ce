/**
 * Batch mode's part of the dataset run: each chunk of batches the scheduler starts goes to the
 * provider's batch API and back, then ends as an ordinary slice (`generateSlice` reading the
 * answers as checkpoints), which `DatasetRun.settle` folds like any other:
 *
 *   submit -> poll (until ended, a deadline, or a stop) -> [cancel] -> collect
 *          -> [resubmit what is missing, up to `attempts` provider batches] -> final slice
 *
 * Waiting is Temporal's infrequent-polling pattern: the poll activity fails while nothing has
 * changed, and its retry policy (every `pollSeconds`, no backoff, no limit) is the poll loop, so a
 * provider batch that takes a day costs a handful of history events (one per tenth of its lines
 * answered and per status), not one timer and activity per poll. A worker, CLI or server restart
 * meets a scheduled retry and goes on.
 *
 * The determinism rule of dataset-run.ts holds: every command is emitted synchronously in the
 * handler of one event (an activity's completion, one microtask after the SDK resolves it, or a
 * signal after the completions delivered with it). A chunk's poll runs in a cancellation scope of
 * its own so a `stop` can cancel it; its completion is read from the activity's own promise, never
 * from `scope.run`'s (which resolves a few microtasks later).
 */
import { CancellationScope, isCancellation, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities, ChunkCollected, ChunkInput, ChunkSubmitted, PollResult, SliceInput } from '../activities';
import type { BatchApiSettings, RunInput } from '../config/run-input';
import { temporalRetryPolicy } from '../config/retry-policy';
import type { BatchWork } from './batch-plan';
import { describeSliceFailure } from './failures';
import type { SliceOutcome } from './run-scheduler';
import type { ProviderBatchNote, StatsState } from './stats';

const { submitProviderBatch, pollProviderBatch, cancelProviderBatch, collectProviderBatch } = proxyActivities<Activities>({ startToCloseTimeout: '1m' });

/** What the chunks need from the run. */
export interface ChunkHost {
  readonly input: RunInput;
  readonly stats: StatsState;
  /** The slice input of `works` with the settings in force. */
  sliceInput(works: BatchWork[]): SliceInput;
  /** The chunk's last step: its batches as a slice reading the provider's answers (`live`: call what is missing). */
  finishAsSlice(works: BatchWork[], live: boolean): void;
  /** The chunk ended without its slice (a failure, the run's cancellation). */
  settle(works: BatchWork[], outcome: SliceOutcome): void;
}

type Phase = 'submitting' | 'polling' | 'cancelling' | 'collecting';

interface Chunk {
  works: BatchWork[];
  round: number;
  phase: Phase;
  providerBatchId?: string | undefined;
  /** Workflow time of the chunk's first submission: its deadline counts from here. */
  firstSubmittedAtMs?: number | undefined;
  last?: PollResult | undefined;
  deadlinePassed: boolean;
  scope?: CancellationScope | undefined;
}

export class ProviderBatchChunks {
  private readonly chunks = new Set<Chunk>();
  /** Provider batches not seen ended: a cancelled run cancels them at the provider. */
  private readonly unended = new Set<string>();
  private stopping = false;
  private cancelled = false;
  /**
   * Anthropic's batches carry no tag, so a submission interrupted before its batch id was recorded
   * finds its batch by time and size: one creation at a time keeps the run's own batches apart.
   */
  private readonly oneAtATime: boolean;
  private submitting = false;
  private readonly waitingToSubmit: Chunk[] = [];

  constructor(
    private readonly host: ChunkHost,
    private readonly settings: BatchApiSettings,
  ) {
    this.oneAtATime = host.input.generation.model.provider === 'anthropic';
  }

  /** Starts a chunk: its first provider batch. */
  start(works: BatchWork[]): void {
    const chunk: Chunk = { works, round: 0, phase: 'submitting', deadlinePassed: false };
    this.chunks.add(chunk);
    this.submit(chunk);
  }

  /** Graceful stop: no more submissions; provider batches being waited on are cancelled, their finished lines kept. */
  stop(): void {
    this.stopping = true;
    for (const c of this.chunks) if (c.phase === 'polling') c.scope?.cancel();
  }

  /** The run was cancelled: its activities are being cancelled; the provider batches are cancelled by `cancelAtProvider`. */
  cancel(): void {
    this.cancelled = true;
  }

  /** Cancels (at the provider) every provider batch not seen ended; for a cancelled run, after its activities settled. */
  async cancelAtProvider(): Promise<void> {
    const model = this.host.input.generation.model;
    await Promise.all(
      [...this.unended].map((id) =>
        cancelProviderBatch
          .executeWithOptions(this.options('cancel'), [{ runId: this.host.input.runId, model, providerBatchId: id }])
          .then((state) => this.note(id, undefined, state))
          .catch(() => undefined),
      ),
    );
  }

  private options(kind: 'submit' | 'poll' | 'cancel' | 'collect'): ActivityOptions {
    const retry = this.host.input.retry;
    // Every step heartbeats: a killed worker's step is retried elsewhere after the run's heartbeat timeout.
    const heartbeatTimeout = this.host.input.heartbeatTimeoutSeconds * 1000;
    switch (kind) {
      case 'submit':
        // The run's retry policy (a 429 on creation waits and tries again), with time for a large upload.
        return { startToCloseTimeout: '15m', heartbeatTimeout, retry: temporalRetryPolicy(retry), summary: 'submit provider batch' };
      case 'poll':
        return {
          startToCloseTimeout: '2m',
          heartbeatTimeout,
          retry: {
            initialInterval: `${this.settings.pollSeconds}s`,
            backoffCoefficient: 1, // no maximumAttempts: unlimited
            nonRetryableErrorTypes: ['auth_error', 'bad_request', 'configuration_error', 'unreachable'],
          },
          summary: 'wait for provider batch',
        };
      case 'cancel':
        return {
          startToCloseTimeout: '30m',
          heartbeatTimeout: '1m',
          retry: { maximumAttempts: 20, initialInterval: '5s', maximumInterval: '1m' },
          summary: 'cancel provider batch',
        };
      case 'collect':
        return {
          startToCloseTimeout: '30m',
          heartbeatTimeout,
          retry: { maximumAttempts: 20, initialInterval: '5s', maximumInterval: '1m', nonRetryableErrorTypes: ['auth_error', 'configuration_error'] },
          summary: 'collect provider batch',
        };
    }
  }

  private chunkInput(chunk: Chunk): ChunkInput {
    const known = this.oneAtATime ? Object.keys(this.host.stats.providerBatches ?? {}) : [];
    return { ...this.host.sliceInput(chunk.works), round: chunk.round, ...(known.length ? { knownProviderBatchIds: known } : {}) };
  }

  private fail(chunk: Chunk, err: unknown): void {
    if (isCancellation(err)) return this.settleCancelled(chunk);
    this.chunks.delete(chunk);
    this.host.settle(chunk.works, describeSliceFailure(err));
  }

  private settleCancelled(chunk: Chunk): void {
    this.chunks.delete(chunk);
    this.host.settle(chunk.works, 'cancelled');
  }

  /** The chunk's last step, as a slice (live calls for what is still missing, unless stopped). */
  private finish(chunk: Chunk, missing: number): void {
    this.chunks.delete(chunk);
    const live = !this.stopping;
    if (live && missing > 0) this.lines().live += missing;
    this.host.finishAsSlice(chunk.works, live);
  }

  private lines(): NonNullable<StatsState['batchLines']> {
    return (this.host.stats.batchLines ??= { submitted: 0, succeeded: 0, unusable: 0, errored: 0, expired: 0, cancelled: 0, live: 0 });
  }

  private note(id: string, chunk: Chunk | undefined, state: PollResult | undefined): void {
    const stats = this.host.stats;
    const all = (stats.providerBatches ??= {});
    const before: ProviderBatchNote | undefined = all[id];
    const works = chunk?.works;
    const counts = state?.counts;
    all[id] = {
      batches: before?.batches ?? (works ? `${works[0]!.batchIndex}-${works[works.length - 1]!.batchIndex}` : '?'),
      round: before?.round ?? chunk?.round ?? 0,
      status: state?.status ?? before?.status ?? 'submitted',
      total: counts?.total ?? before?.total ?? 0,
      processing: counts?.processing ?? before?.processing ?? 0,
      succeeded: counts?.succeeded ?? before?.succeeded ?? 0,
      errored: counts?.errored ?? before?.errored ?? 0,
      expired: counts?.expired ?? before?.expired ?? 0,
      cancelled: counts?.cancelled ?? before?.cancelled ?? 0,
    };
    if (state?.ended) this.unended.delete(id);
    if (state?.atMs !== undefined) stats.lastUpdateMs = Math.max(stats.lastUpdateMs, state.atMs);
  }

  private submit(chunk: Chunk): void {
    chunk.phase = 'submitting';
    if (this.oneAtATime && this.submitting) return void this.waitingToSubmit.push(chunk);
    // A chunk that waited its turn through a stop or a cancellation is never submitted.
    if (this.cancelled) return this.settleCancelled(chunk);
    if (this.stopping && chunk.round === 0) return this.finish(chunk, 0);
    this.submitting = true;
    const next = () => {
      this.submitting = false;
      const waiting = this.waitingToSubmit.shift();
      if (waiting) this.submit(waiting);
    };
    submitProviderBatch.executeWithOptions(this.options('submit'), [this.chunkInput(chunk)]).then(
      (r) => {
        this.submitted(chunk, r);
        next();
      },
      (err: unknown) => {
        this.fail(chunk, err);
        next();
      },
    );
  }

  private submitted(chunk: Chunk, r: ChunkSubmitted): void {
    if (!r.providerBatchId) return this.finish(chunk, 0); // every call already answered (a restart after collection)
    chunk.providerBatchId = r.providerBatchId;
    chunk.firstSubmittedAtMs ??= r.atMs; // the worker's clock, from history: the deadline replays the same
    this.unended.add(r.providerBatchId);
    this.lines().submitted += r.lines;
    this.note(r.providerBatchId, chunk, r.state);
    chunk.last = r.state;
    if (this.cancelled) return this.settleCancelled(chunk);
    if (this.stopping) return this.cancelThere(chunk);
    this.poll(chunk);
  }

  private poll(chunk: Chunk): void {
    chunk.phase = 'polling';
    const id = chunk.providerBatchId!;
    const deadline = this.settings.deadlineSeconds;
    const last = chunk.last;
    const input = {
      runId: this.host.input.runId,
      model: this.host.input.generation.model,
      providerBatchId: id,
      ...(last ? { last: { status: last.status, succeeded: last.counts.succeeded, total: last.counts.total } } : {}),
      ...(deadline !== undefined && !chunk.deadlinePassed ? { deadlineAtMs: chunk.firstSubmittedAtMs! + deadline * 1000 } : {}),
    };
    const scope = new CancellationScope();
    chunk.scope = scope;
    let polled!: Promise<PollResult>;
    void scope
      .run(() => (polled = pollProviderBatch.executeWithOptions({ ...this.options('poll'), summary: `wait for ${id}` }, [input])))
      .catch(() => undefined);
    polled.then(
      (state) => {
        chunk.scope = undefined;
        chunk.last = state;
        this.note(id, chunk, state);
        if (state.ended) return this.collect(chunk);
        if (state.deadlinePassed) {
          chunk.deadlinePassed = true;
          return this.cancelThere(chunk);
        }
        this.poll(chunk);
      },
      (err: unknown) => {
        chunk.scope = undefined;
        // A stop cancels the wait: the provider batch is cancelled there and its finished lines kept.
        if (isCancellation(err) && this.stopping && !this.cancelled) return this.cancelThere(chunk);
        this.fail(chunk, err);
      },
    );
  }

  private cancelThere(chunk: Chunk): void {
    chunk.phase = 'cancelling';
    const id = chunk.providerBatchId!;
    cancelProviderBatch
      .executeWithOptions(this.options('cancel'), [{ runId: this.host.input.runId, model: this.host.input.generation.model, providerBatchId: id }])
      .then(
        (state) => {
          this.note(id, chunk, state);
          this.collect(chunk);
        },
        (err: unknown) => this.fail(chunk, err),
      );
  }

  private collect(chunk: Chunk): void {
    chunk.phase = 'collecting';
    const id = chunk.providerBatchId!;
    collectProviderBatch.executeWithOptions(this.options('collect'), [{ ...this.chunkInput(chunk), providerBatchId: id }]).then(
      (c: ChunkCollected) => {
        const lines = this.lines();
        lines.succeeded += c.succeeded;
        lines.unusable += c.unusable;
        lines.errored += c.errored;
        lines.expired += c.expired;
        lines.cancelled += c.cancelled;
        this.unended.delete(id);
        const again = c.missing > 0 && chunk.round + 1 < this.settings.attempts && !this.stopping && !this.cancelled && !chunk.deadlinePassed;
        if (!again) return this.finish(chunk, c.missing);
        chunk.round++;
        chunk.last = undefined;
        this.submit(chunk);
      },
      (err: unknown) => this.fail(chunk, err),
    );
  }
}
