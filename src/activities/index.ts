import { ProviderFactory, type Env } from '../llm/provider-factory';
import { assembleDataset } from './assemble-dataset';
import { makeGenerateBatch } from './generate-batch';
import { makeExpandTopic, saveTopicGraph, saveTopicTree } from './expand-topic';

export type { BatchInput, BatchSummary, AssembleInput, AssembleResult } from './types';
export type { ExpandInput, ExpandResult, FailedExpansion } from './expand-topic';

/**
 * The worker's activities. API keys come from `env` (the worker's environment) and nowhere else.
 */
export function createActivities(opts: { env?: Env } = {}) {
  const providers = new ProviderFactory(opts.env ?? process.env);
  return {
    generateBatch: makeGenerateBatch(providers),
    assembleDataset,
    expandTopic: makeExpandTopic(providers),
    saveTopicTree,
    saveTopicGraph,
  };
}

export type Activities = ReturnType<typeof createActivities>;
