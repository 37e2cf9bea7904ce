/**
 * FROZEN: the dataset run as version 1 wrote it, kept only so that runs started before the
 * `completion-driven-scheduling` patch replay exactly as they were recorded. Do not change it; new
 * runs use `dataset-run.ts`. Delete it (and `deprecatePatch` the marker) once no v1 run is open.
 *
 * Its flaw: memo upserts run in each batch's `finally` while the main loop schedules after a
 * `condition`, so a workflow task's commands depend on how its activity completions were grouped
 * into activations (see `dataset-run.ts`).
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  upsertMemo,
  upsertSearchAttributes,
  type ActivityOptions,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities, AssembleResult, BatchInput, BatchSummary } from '../activities';
import type { RunInput } from '../config/run-input';
import { branchesOf, pathIndexForSlot, type SamplingPlan } from '../topics/sampling';
import { cancelRunSignal, pauseSignal, resumeSignal, setConcurrencyUpdate, statsQuery } from './definitions';
import { DatasetAccepted } from './search-attributes';
import { newStats, recordBatch, recordBatchFailure, snapshot, type RunStatus } from './stats';
import type { RunCursor, RunResult } from './dataset-run';

// Frozen as version 1 knew them (later versions add categories): the retry policies it schedules stay the same.
const ERROR_CATEGORIES = [
  'rate_limit',
  'timeout',
  'server_error',
  'auth_error',
  'bad_request',
  'json_parse_error',
  'validation_error',
  'content_filtered',
] as const;
/** Failure types that end the whole run: retrying another batch cannot fix them. */
const RUN_FATAL: string[] = ['auth_error', 'bad_request', 'configuration_error'];

export async function datasetRunWorkflowV1(input: RunInput, cursor?: RunCursor): Promise<RunResult> {
  const info = workflowInfo();
  const plannedBatches = Math.ceil(input.numSteps / input.batchSize);
  const stats = cursor?.stats ?? newStats(input.numSteps, plannedBatches, info.startTime.getTime());
  if (cursor) stats.segments++;
  let nextBatch = cursor?.nextBatch ?? 0;
  let nextSlot = cursor?.nextSlot ?? input.numSteps;
  let extraBatchesUsed = cursor?.extraBatchesUsed ?? 0;
  let concurrency = cursor?.concurrency ?? input.concurrency;
  let paused = cursor?.paused ?? false;
  let stopRequested = false;
  let status: RunStatus = 'running';
  let fatal: ApplicationFailure | undefined;
  const inFlight = new Map<number, number>(); // batch index -> examples requested
  let scheduledThisSegment = 0;

  const requestedInFlight = () => [...inFlight.values()].reduce((a, b) => a + b, 0);
  const currentStats = () =>
    snapshot(stats, { runId: input.runId, status: paused && status === 'running' ? 'paused' : status, batchesInFlight: inFlight.size, concurrency, paused });

  setHandler(statsQuery, currentStats);
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(cancelRunSignal, () => void (stopRequested = true));
  setHandler(
    setConcurrencyUpdate,
    (n: number) => {
      concurrency = n;
      return concurrency;
    },
    {
      validator: (n: number) => {
        if (!Number.isInteger(n) || n < 1 || n > 10000) throw new Error(`concurrency must be an integer from 1 to 10000, got ${n}`);
      },
    },
  );

  const retryable = new Set(input.retry.retryOnErrors);
  const batchOptions: ActivityOptions = {
    // The model call has its own timeout (requestTimeout); this one is the backstop for a stuck attempt.
    startToCloseTimeout: `${Math.ceil(input.generation.requestTimeoutSeconds * 2 + 30)}s`,
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds}s`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: input.retry.maxRetries + 1,
      initialInterval: `${input.retry.initialBackoffSeconds}s`,
      backoffCoefficient: input.retry.backoffMultiplier,
      maximumInterval: `${input.retry.maxBackoffSeconds}s`,
      nonRetryableErrorTypes: [...ERROR_CATEGORIES.filter((c) => !retryable.has(c)), ...RUN_FATAL],
    },
  };
  const { generateBatch } = proxyActivities<Activities>(batchOptions);
  const { assembleDataset } = proxyActivities<Activities>({
    startToCloseTimeout: '30m',
    heartbeatTimeout: '2m',
    retry: { maximumAttempts: 5 },
  });

  const inline = input.topics.kind === 'inline' ? input.topics.paths : undefined;
  const plan: SamplingPlan = {
    strategy: input.sampling.strategy,
    seed: input.sampling.seed,
    count: inline?.length ?? (input.topics.kind === 'file' ? input.topics.count : 1),
    branches: inline && input.sampling.strategy === 'balanced' ? branchesOf(inline) : undefined,
    order: input.sampling.order,
  };

  const batchInput = (batchIndex: number, slotStart: number, count: number): BatchInput => {
    const base = { runId: input.runId, runDir: input.runDir, batchIndex, slotStart, count, generation: input.generation };
    if (inline) {
      const topicPaths = Array.from({ length: count }, (_, i) => inline[pathIndexForSlot(plan, slotStart + i)]!);
      return { ...base, topicPaths };
    }
    const file = input.topics.kind === 'file' ? input.topics.file : '';
    return { ...base, topicsRef: { file, sampling: input.sampling, count: plan.count } };
  };

  const lastMemo = { done: -1 };
  const publishProgress = (force = false) => {
    // One memo update per ~2% of batches keeps history small while the UI list stays current.
    const step = Math.max(1, Math.floor(plannedBatches / 50));
    if (!force && stats.batchesDone - lastMemo.done < step) return;
    lastMemo.done = stats.batchesDone;
    upsertMemo({ progress: { accepted: stats.accepted, target: stats.target, batchesDone: stats.batchesDone, status } });
    if (input.searchAttributes) upsertSearchAttributes([{ key: DatasetAccepted, value: stats.accepted }]);
  };

  const runBatch = async (batchIndex: number, slotStart: number, count: number): Promise<void> => {
    inFlight.set(batchIndex, count);
    const bi = batchInput(batchIndex, slotStart, count);
    const topic = bi.topicPaths?.[0]?.join(' -> ');
    try {
      const summary: BatchSummary = await generateBatch.executeWithOptions(
        {
          ...batchOptions,
          summary: `batch ${batchIndex}: ${count} examples${topic ? `, first topic ${topic.slice(0, 80)}` : ''}`,
        },
        [bi],
      );
      recordBatch(stats, summary);
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const category = cause instanceof ApplicationFailure && cause.type ? cause.type : cause instanceof TimeoutFailure ? 'timeout' : 'server_error';
      const attempts = cause instanceof ApplicationFailure && cause.nonRetryable ? 1 : input.retry.maxRetries + 1;
      recordBatchFailure(stats, category, attempts, count);
      if (RUN_FATAL.includes(category) && !fatal) {
        fatal = ApplicationFailure.create({
          message: `run ${input.runId} stopped: ${cause instanceof Error ? cause.message : String(cause)}`,
          type: category,
          nonRetryable: true,
        });
      }
    } finally {
      inFlight.delete(batchIndex);
      publishProgress();
    }
  };

  /** Next batch to start: a planned one, or a top-up when accepted + in flight falls short. */
  const nextWork = (): { batchIndex: number; slotStart: number; count: number } | undefined => {
    if (nextBatch < plannedBatches) {
      const slotStart = nextBatch * input.batchSize;
      return { batchIndex: nextBatch, slotStart, count: Math.min(input.batchSize, input.numSteps - slotStart) };
    }
    const missing = input.numSteps - stats.accepted - requestedInFlight();
    if (missing > 0 && extraBatchesUsed < input.maxExtraBatches) {
      // Ask for more than is missing when filters reject a share of examples; the dataset is cut at the target.
      const acceptance = stats.requested > 0 ? Math.max(0.1, stats.accepted / stats.requested) : 1;
      return { batchIndex: nextBatch, slotStart: nextSlot, count: Math.min(input.batchSize, Math.ceil(missing / acceptance)) };
    }
    return undefined;
  };

  let cancellation: unknown;
  const scope = new CancellationScope();
  const running = new Set<Promise<void>>();
  let segmentFull = false;
  try {
    await scope.run(async () => {
      for (;;) {
        await condition(
          () => fatal !== undefined || stopRequested || (!paused && inFlight.size < concurrency) || (inFlight.size === 0 && nextWork() === undefined),
        );
        if (fatal || stopRequested) break;
        segmentFull = scheduledThisSegment >= input.batchesPerRun || workflowInfo().continueAsNewSuggested;
        if (segmentFull) break;
        const work = paused ? undefined : nextWork();
        if (!work) {
          if (inFlight.size === 0) break;
          // Wait for a batch to finish: it may leave a shortfall to top up.
          const before = stats.batchesDone + stats.batchesFailed;
          await condition(() => stats.batchesDone + stats.batchesFailed !== before || fatal !== undefined || stopRequested || paused);
          continue;
        }
        if (work.batchIndex >= plannedBatches) {
          extraBatchesUsed++;
          nextSlot += work.count;
        }
        nextBatch++;
        scheduledThisSegment++;
        const p = runBatch(work.batchIndex, work.slotStart, work.count);
        running.add(p);
        void p.finally(() => running.delete(p)).catch(() => undefined);
      }
      // A stop request lets batches in flight finish (they are paid for); a cancellation cancels them.
      await Promise.allSettled([...running]);
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancellation = err;
    await CancellationScope.nonCancellable(() => Promise.allSettled([...running]));
  }
  const cancelled = cancellation !== undefined || stopRequested;

  if (segmentFull && !cancelled && !fatal) {
    await condition(allHandlersFinished);
    return continueAsNew<(input: RunInput, cursor?: RunCursor) => Promise<RunResult>>(input, {
      nextBatch,
      nextSlot,
      extraBatchesUsed,
      concurrency,
      paused,
      stats,
    });
  }

  status = cancelled ? 'cancelled' : fatal ? 'failed' : 'completing';
  // Assemble even when cancelled or failed: nothing generated is lost, and the manifest says partial.
  const assembled: AssembleResult = await CancellationScope.nonCancellable(() =>
    assembleDataset({
      runId: input.runId,
      runDir: input.runDir,
      numSteps: input.numSteps,
      manifest: {
        name: input.name,
        model: `${input.generation.model.provider}/${input.generation.model.model}`,
        conversationType: input.generation.conversationType,
        batchSize: input.batchSize,
        status: cancelled ? 'cancelled' : fatal ? 'failed' : 'completed',
        stats: currentStats(),
      },
    }),
  );
  if (fatal) {
    status = 'failed';
    publishProgress(true);
    throw fatal;
  }
  status = cancelled ? 'cancelled' : 'completed';
  publishProgress(true);
  if (cancellation) throw cancellation;
  const result: RunResult = {
    runId: input.runId,
    status: cancelled ? 'cancelled' : assembled.partial ? 'incomplete' : 'completed',
    datasetPath: assembled.datasetPath,
    manifestPath: assembled.manifestPath,
    records: assembled.records,
    stats: currentStats(),
  };
  return result;
}
