import { ProviderFactory, type Env } from '../llm/provider-factory';
import { makeAssembleDataset } from './assemble-dataset';
import { FsStore, type Store } from '../storage/store';
import { defaultDataDir } from '../worker/paths';
import { makeGenerateBatch, makeGenerateSlice } from './generate-batch';
import { makeExpandTopic, makeReadTopicBuildState, makeSaveTopicGraph, makeSaveTopicTree, makeWriteTopicBuildState } from './expand-topic';

export type { BatchInput, BatchSummary, AssembleInput, AssembleResult, SliceInput, SliceResult, SliceBatchFailure } from './types';
export type { ExpandInput, ExpandResult, FailedExpansion } from './expand-topic';

/**
 * The worker's activities. API keys come from `env` (the worker's environment) and nowhere else;
 * runs' data goes to `store` (this worker's: its data folder, or PostgreSQL).
 */
export function createActivities(opts: { env?: Env; store?: Store } = {}) {
  const providers = new ProviderFactory(opts.env ?? process.env);
  const store = opts.store ?? new FsStore(defaultDataDir());
  return {
    generateBatch: makeGenerateBatch(providers, store),
    generateSlice: makeGenerateSlice(providers, store),
    assembleDataset: makeAssembleDataset(store),
    expandTopic: makeExpandTopic(providers, store),
    saveTopicTree: makeSaveTopicTree(store),
    saveTopicGraph: makeSaveTopicGraph(store),
    writeTopicBuildState: makeWriteTopicBuildState(store),
    readTopicBuildState: makeReadTopicBuildState(store),
  };
}

export type Activities = ReturnType<typeof createActivities>;
