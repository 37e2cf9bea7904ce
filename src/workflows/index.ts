/** Workflow entry points (bundled for the worker; deterministic code only). */
export { datasetRunWorkflow } from './dataset-run';
export type { RunCursor, RunResult } from './dataset-run';
export { topicTreeWorkflow, topicGraphWorkflow } from './topic-build';
export type { TopicBuildResult, TopicBuildProgress } from './topic-build';
