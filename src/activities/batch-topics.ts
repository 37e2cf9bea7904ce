/** A batch's topic paths: inline in its input, or picked from the run's stored topics by its slots (read once per process), with their ids when the topics have their own (graph nodes). */
import { ApplicationFailure } from '@temporalio/activity';
import type { RunData, StoredTopics } from '../storage/store';
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

export async function topicsFor(input: BatchInput, run: RunData): Promise<{ paths: string[][]; ids?: string[] }> {
  if (input.topicPaths) return { paths: input.topicPaths };
  if (!input.topicsRef) throw ApplicationFailure.nonRetryable(`batch ${input.batchIndex} has no topics`, 'bad_request');
  const all = await storedTopics(input.runId, run);
  const plan = {
    ...input.topicsRef.sampling,
    count: all.paths.length,
    branches: input.topicsRef.sampling.strategy === 'balanced' ? cachedBranches(all.paths) : undefined,
  };
  const picked = Array.from({ length: input.count }, (_, i) => pathIndexForExample(plan, input.firstExample + i));
  const ids = all.ids;
  return { paths: picked.map((k) => all.paths[k]!), ...(ids ? { ids: picked.map((k) => ids[k]!) } : {}) };
}

/** A run's stored topic paths, read once per process (a 100k-path set is read for every batch otherwise). */
const topicsCache = new Map<string, Promise<StoredTopics>>();
function storedTopics(runId: string, run: RunData): Promise<StoredTopics> {
  let hit = topicsCache.get(runId);
  if (!hit) {
    hit = run.readTopics();
    hit.catch(() => topicsCache.delete(runId));
    if (topicsCache.size > 16) topicsCache.delete(topicsCache.keys().next().value!);
    topicsCache.set(runId, hit);
  }
  return hit;
}
