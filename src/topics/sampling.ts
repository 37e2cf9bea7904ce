/**
 * Topic sampling as pure functions of an example's index: example k of a run always gets the same topic
 * path, whatever order batches run in, across retries, worker crashes and continue-as-new.
 */
import type { SamplingStrategy } from '../config/run-input';

/** What a sampler needs to know about the topic set. */
export interface SamplingPlan {
  strategy: SamplingStrategy;
  seed: number;
  /** Number of topic paths. */
  count: number;
  /** Path indices grouped by top-level branch (for `balanced`). */
  branches?: number[][] | undefined;
  /** Precomputed order (for `custom`): example k uses path `order[k % order.length]`. */
  order?: number[] | undefined;
}

/** A 32-bit integer hash of (seed, example index): splitmix-style mixing, stable across platforms. */
export function hash32(seed: number, example: number): number {
  let x = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(example | 0, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Index of the topic path used by example `example`. */
export function pathIndexForExample(plan: SamplingPlan, example: number): number {
  switch (plan.strategy) {
    case 'sequential':
      return example % plan.count;
    case 'random':
      return hash32(plan.seed, example) % plan.count;
    case 'balanced': {
      const branches = plan.branches?.filter((b) => b.length > 0);
      if (!branches?.length) return example % plan.count;
      const branch = branches[example % branches.length]!;
      return branch[Math.floor(example / branches.length) % branch.length]!;
    }
    case 'custom': {
      if (!plan.order?.length) return example % plan.count;
      return plan.order[example % plan.order.length]!;
    }
  }
}

/**
 * Groups path indices by their top-level branch: the element after the root (paths start with the
 * root prompt, as in DeepFabric's files), or the first element when paths are one long.
 */
export function branchesOf(paths: readonly (readonly string[])[]): number[][] {
  const groups = new Map<string, number[]>();
  paths.forEach((p, i) => {
    const key = (p.length > 1 ? p[1] : p[0]) ?? '';
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}
