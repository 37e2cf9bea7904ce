import { promises as fs } from 'node:fs';
import { ConfigurationError } from '../errors';

const cache = new Map<string, { mtimeMs: number; paths: string[][] }>();

/**
 * Reads a topic-paths file: JSONL with one `{"path": [...]}` per line (DeepFabric's tree format) or
 * a bare JSON array per line. Cached per file while it is unchanged, since every batch of a big run
 * reads the same file.
 */
export async function readTopicPathsFile(file: string): Promise<string[][]> {
  const stat = await fs.stat(file);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.paths;
  const paths = parseTopicPaths(await fs.readFile(file, 'utf8'), file);
  cache.set(file, { mtimeMs: stat.mtimeMs, paths });
  return paths;
}

/**
 * Parses topic paths from JSONL: `{"path": [...]}` per line (DeepFabric's tree format) or a bare
 * JSON array per line. A bad line is named by number.
 */
export function parseTopicPaths(text: string, source: string): string[][] {
  const paths: string[][] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new ConfigurationError(`${source}: line ${i + 1} is not valid JSON`);
    }
    const p = Array.isArray(value) ? value : (value as { path?: unknown })?.path;
    if (!Array.isArray(p) || p.length === 0 || !p.every((x) => typeof x === 'string')) {
      throw new ConfigurationError(`${source}: line ${i + 1} has no "path" list of strings`);
    }
    paths.push(p as string[]);
  });
  return paths;
}
