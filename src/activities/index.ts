import { Context } from '@temporalio/activity';
import { ProviderFactory, type Env } from '../llm/provider-factory';
import { makeAssembleDataset } from './assemble-dataset';
import { FsStore } from '../storage/fs-store';
import type { Store } from '../storage/store';
import { defaultDataDir } from '../config/paths';
import { makeGenerateSlice } from './generate-slice';
import { makeProviderBatchActivities } from './provider-batch';
import { makeExpandTopic, makeReadTopicBuildState, makeSaveTopicGraph, makeSaveTopicTree, makeWriteTopicBuildState } from './expand-topic';

export type { BatchSummary, AssembleInput, AssembleResult, SliceInput, SliceResult, SliceBatchFailure } from './types';
export type { ExpandInput, ExpandResult, FailedExpansion } from './expand-topic';
export type { ChunkInput, ChunkSubmitted, ChunkCollected, PollInput, PollResult } from './provider-batch';

/**
 * The worker's activities. API keys come from `env` (the worker's environment) and nowhere else;
 * runs' data goes to `store` (this worker's: its data folder, or PostgreSQL).
 */
export function createActivities(opts: { env?: Env; store?: Store; modelCalls?: boolean } = {}) {
  const providers = new ProviderFactory(opts.env ?? process.env);
  const store = opts.store ?? new FsStore(defaultDataDir());
  // A worker that only winds runs down (`deepfabric cancel`) never calls a model: an attempt it picks
  // up waits until the run's cancellation reaches it.
  const calls = opts.modelCalls ?? true;
  const batchApi = makeProviderBatchActivities(providers, store);
  return {
    generateSlice: calls ? makeGenerateSlice(providers, store) : untilCancelled,
    assembleDataset: makeAssembleDataset(store),
    expandTopic: calls ? makeExpandTopic(providers, store) : untilCancelled,
    saveTopicTree: makeSaveTopicTree(store),
    saveTopicGraph: makeSaveTopicGraph(store),
    writeTopicBuildState: makeWriteTopicBuildState(store),
    readTopicBuildState: makeReadTopicBuildState(store),
    // Batch mode: a winding-down worker may still cancel provider batches, never create them.
    submitProviderBatch: calls ? batchApi.submitProviderBatch : untilCancelled,
    pollProviderBatch: batchApi.pollProviderBatch,
    cancelProviderBatch: batchApi.cancelProviderBatch,
    collectProviderBatch: calls ? batchApi.collectProviderBatch : untilCancelled,
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Heartbeats until the activity is cancelled (then throws the cancellation); never returns a result. */
async function untilCancelled(..._args: unknown[]): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(1000);
  }
}
