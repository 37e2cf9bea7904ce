/** A batch's topic paths: inline in its input, or picked from the run's stored topics by its slots (read once per process). */
import { ApplicationFailure } from '@temporalio/activity';
import type { RunData } from '../storage/store';
import { branchesOf, pathIndexForExample } from '../topics/sampling';
import type { BatchInput } from './types';

const branchCache = new WeakMap<string[][], number[][]>();
function cachedBranches(paths: string[][]): number[][] {
  let b = branchCache.get(paths);
  if (!b) {
    b = branchesOf(paths);
    branchCache.set(paths, b);
  }
  return b;
}

export async function topicPathsFor(input: BatchInput, run: RunData): Promise<string[][]> {
  if (input.topicPaths) return input.topicPaths;
  if (!input.topicsRef) throw ApplicationFailure.nonRetryable(`batch ${input.batchIndex} has no topics`, 'bad_request');
  const all = await storedTopics(input.runId, run);
  const plan = {
    ...input.topicsRef.sampling,
    count: all.length,
    branches: input.topicsRef.sampling.strategy === 'balanced' ? cachedBranches(all) : undefined,
  };
  return Array.from({ length: input.count }, (_, i) => all[pathIndexForExample(plan, input.firstExample + i)]!);
}

/** A run's stored topic paths, read once per process (a 100k-path set is read for every batch otherwise). */
const topicsCache = new Map<string, Promise<string[][]>>();
function storedTopics(runId: string, run: RunData): Promise<string[][]> {
  let hit = topicsCache.get(runId);
  if (!hit) {
    hit = run.readTopics();
    hit.catch(() => topicsCache.delete(runId));
    if (topicsCache.size > 16) topicsCache.delete(topicsCache.keys().next().value!);
    topicsCache.set(runId, hit);
  }
  return hit;
}
