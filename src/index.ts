/** Public API. */
export { DataSetGenerator, type DataSetGeneratorOptions } from './client/data-set-generator';
export { RunHandle } from './client/run-handle';
export { CreateDataArgsSchema, type CreateDataArgs } from './config/create-data-args';
export type { TemporalOptions } from './client/temporal-context';
export { Dataset } from './dataset/dataset';
export { Tree } from './topics/tree';
export { Graph } from './topics/graph';
export { buildTopics, type BuildTopicsOptions } from './client/topic-builder';
export { FORMATTERS, applyFormatter, type Formatter } from './dataset/formatters';
export { registerContentFilter, type ContentFilter } from './dataset/content-filters';
export { RecordSchemas, type DatasetRecord } from './dataset/example-schemas';
export type { GenerationStats } from './workflows/stats';
export type { RunResult } from './workflows/dataset-run';
export { createWorker } from './worker/worker';
export { DevServer, ensureTemporalCli } from './worker/dev-server';
export {
  DataSetGeneratorError,
  ConfigurationError,
  ModelError,
  ValidationError,
  RunFailedError,
  ERROR_CATEGORIES,
  ERROR_CODES,
  type ErrorCategory,
  type ErrorCode,
} from './errors';
export { uploadToHub, type HubUploadOptions, type CardSettings } from './dataset/hub-upload';
