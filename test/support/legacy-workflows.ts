/**
 * The current dataset run next to version 1 under its own workflow type, for tests that show what
 * the current scheduler fixes (the same scenario breaks version 1 and not the current code).
 */
export { datasetRunWorkflow } from '../../src/workflows/dataset-run';
export { datasetRunWorkflowV1 as legacyDatasetRunWorkflow } from '../../src/workflows/dataset-run-v1';
