import { promises as fs } from 'node:fs';
import { ConfigurationError } from '../errors';

const cache = new Map<string, { version: string; topics: { paths: string[][]; ids?: string[] } }>();

/**
 * Reads a topics file: JSONL with one `{"path": [...]}` per line (DeepFabric's tree format, with a
 * `topic_id` when the topics have ids of their own) or a bare JSON array per line. Cached per file
 * while it is unchanged, since every batch of a big run reads the same file.
 */
export async function readTopicsFile(file: string): Promise<{ paths: string[][]; ids?: string[] }> {
  const stat = await fs.stat(file);
  // A file replaced by a rename (atomic writes) has a new inode, even within the same millisecond.
  const version = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  const hit = cache.get(file);
  if (hit && hit.version === version) return hit.topics;
  const text = await fs.readFile(file, 'utf8');
  const paths = parseTopicPaths(text, file);
  const ids = topicIdsOf(text);
  const topics = ids && ids.length === paths.length ? { paths, ids } : { paths };
  cache.set(file, { version, topics });
  return topics;
}

/** A topic-paths file's paths. */
export async function readTopicPathsFile(file: string): Promise<string[][]> {
  return (await readTopicsFile(file)).paths;
}

/** Every line's `topic_id`, when every line has one. */
function topicIdsOf(text: string): string[] | undefined {
  const ids: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const id = (JSON.parse(line) as { topic_id?: unknown }).topic_id;
    if (typeof id !== 'string') return undefined;
    ids.push(id);
  }
  return ids;
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
