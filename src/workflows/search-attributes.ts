/**
 * Custom search attributes that make runs findable and show progress in the UI's list. They must be
 * registered on the namespace first (the embedded dev server registers them at start; for a
 * cluster see the README), so runs use them only when the client says they exist.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DATASET_SEARCH_ATTRIBUTES = {
  DatasetName: 'Keyword',
  DatasetModel: 'Keyword',
  DatasetTarget: 'Int',
  DatasetAccepted: 'Int',
} as const;

export const DatasetName = defineSearchAttributeKey('DatasetName', SearchAttributeType.KEYWORD);
export const DatasetModel = defineSearchAttributeKey('DatasetModel', SearchAttributeType.KEYWORD);
export const DatasetTarget = defineSearchAttributeKey('DatasetTarget', SearchAttributeType.INT);
export const DatasetAccepted = defineSearchAttributeKey('DatasetAccepted', SearchAttributeType.INT);
