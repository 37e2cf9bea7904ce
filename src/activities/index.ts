import { ProviderFactory, type Env } from '../llm/provider-factory';
import { assembleDataset } from './assemble-dataset';
import { makeGenerateBatch } from './generate-batch';

export type { BatchInput, BatchSummary, AssembleInput, AssembleResult } from './types';

/**
 * The worker's activities. API keys come from `env` (the worker's environment) and nowhere else.
 */
export function createActivities(opts: { env?: Env } = {}) {
  const providers = new ProviderFactory(opts.env ?? process.env);
  return {
    generateBatch: makeGenerateBatch(providers),
    assembleDataset,
  };
}

export type Activities = ReturnType<typeof createActivities>;
