/**
 * Version 1 of the dataset run under its own workflow type, for tests that show what the current
 * scheduler fixes (the same scenario must break a v1 history on replay and not a current one).
 */
export { datasetRunWorkflowV1 as legacyDatasetRunWorkflow } from '../../src/workflows/dataset-run-v1';
