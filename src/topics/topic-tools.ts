/**
 * `deepfabric topic inspect` and `topic prune` (DeepFabric's CLI): what a topic set holds, and a
 * smaller one cut by level or without a branch. Pure functions over topic paths (root first).
 */
import { ConfigurationError } from '../errors';

interface TopicReport {
  paths: number;
  maxDepth: number;
  /** Distinct topics at each level (level 0 is the root). */
  perLevel: number[];
  /** Leaf paths under each top-level branch, largest first. */
  branches: [string, number][];
}

export function inspectTopics(paths: string[][]): TopicReport {
  const levels: Set<string>[] = [];
  const branches = new Map<string, number>();
  for (const p of paths) {
    p.forEach((_, i) => (levels[i] ??= new Set()).add(JSON.stringify(p.slice(0, i + 1))));
    const b = p[1] ?? p[0]!;
    branches.set(b, (branches.get(b) ?? 0) + 1);
  }
  return {
    paths: paths.length,
    maxDepth: Math.max(0, ...paths.map((p) => p.length - 1)),
    perLevel: levels.map((s) => s.size),
    branches: [...branches].sort((a, b) => b[1] - a[1]),
  };
}

/**
 * Paths cut at `level` (a path deeper than it ends there; duplicates merged) and/or without the
 * top-level `branch`. Throws when nothing would remain.
 */
export function prunePaths(paths: string[][], opts: { level?: number; branch?: string }): string[][] {
  let out = paths;
  if (opts.branch !== undefined) {
    if (!paths.some((p) => p[1] === opts.branch))
      throw new ConfigurationError(`no top-level branch "${opts.branch}"; branches: ${[...new Set(paths.map((p) => p[1]).filter(Boolean))].join(', ')}`);
    out = out.filter((p) => p[1] !== opts.branch);
  }
  if (opts.level !== undefined) {
    if (!Number.isInteger(opts.level) || opts.level < 1)
      throw new ConfigurationError(`level must be an integer of at least 1 (the root's children), got ${opts.level}`);
    const seen = new Set<string>();
    out = out
      .map((p) => p.slice(0, opts.level! + 1))
      .filter((p) => {
        const k = JSON.stringify(p);
        return seen.has(k) ? false : (seen.add(k), true);
      });
  }
  if (!out.length) throw new ConfigurationError('nothing would remain');
  return out;
}
