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
    if (!Number.isInteger(opts.level) || opts.level < 0)
      throw new ConfigurationError(`level must be an integer of at least 0 (0 keeps the root alone, 1 the root's children), got ${opts.level}`);
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

/** What DeepFabric 4.13's `topic inspect --format json` prints, key for key (its `topic_inspector`). */
export interface TopicInspection {
  format: 'tree' | 'graph';
  source_file: string;
  total_paths: number;
  /** The longest path's length in topics (the root counted), as DeepFabric counts it. */
  max_depth: number;
  metadata: Record<string, unknown>;
  paths_at_level?: string[][];
  expanded_paths?: string[][];
  all_paths?: string[][];
}

/**
 * DeepFabric 4.13's topic inspection: `level` lists the distinct topics at that depth (0 = root),
 * `expand` (with `level`) the paths from there down, `expand` levels deep (-1: all), `all` every path.
 */
export function inspectTopicFile(
  source: string,
  paths: string[][],
  metadata: Record<string, unknown>,
  opts: { level?: number | undefined; expand?: number | undefined; all?: boolean | undefined },
  format: 'tree' | 'graph',
): TopicInspection {
  const out: TopicInspection = {
    format,
    source_file: source,
    total_paths: paths.length,
    max_depth: Math.max(0, ...paths.map((p) => p.length)),
    metadata,
  };
  const level = opts.level;
  if (level !== undefined) {
    const seen = new Set<string>();
    out.paths_at_level = [];
    for (const p of paths) {
      if (p.length <= level || seen.has(p[level]!)) continue;
      seen.add(p[level]!);
      out.paths_at_level.push([p[level]!]);
    }
    if (opts.expand !== undefined) {
      const seenPaths = new Set<string>();
      out.expanded_paths = [];
      for (const p of paths) {
        if (p.length <= level) continue;
        let trimmed = p.slice(level);
        if (opts.expand !== -1 && trimmed.length > opts.expand + 1) trimmed = trimmed.slice(0, opts.expand + 1);
        const key = JSON.stringify(trimmed);
        if (seenPaths.has(key)) continue;
        seenPaths.add(key);
        out.expanded_paths.push(trimmed);
      }
    }
  }
  if (opts.all) out.all_paths = paths;
  return out;
}
