import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../files';
import { randomSeed } from './random-seed';
import { hash32 } from './sampling';
import { parseTopicPaths } from './topic-paths-file';
import { drawSvg, nodesFromPaths } from './svg';
import { ConfigurationError } from '../errors';

/**
 * A topic tree as its leaf paths (root prompt first), the form DeepFabric saves: JSONL with one
 * `{"path": [...]}` per line.
 */
export class Tree {
  constructor(readonly paths: string[][] = []) {}

  /** Every leaf path, root first. */
  getAllPaths(): string[][] {
    return this.paths.map((p) => [...p]);
  }

  /** Distinct topics at depth `n` (0 = the root prompt), in first-seen order. */
  getTopicsAtDepth(n: number): string[][] {
    const seen = new Map<string, string[]>();
    for (const p of this.paths) {
      if (p.length > n) {
        const prefix = p.slice(0, n + 1);
        seen.set(JSON.stringify(prefix), prefix);
      }
    }
    return [...seen.values()];
  }

  /** `k` paths drawn without replacement (with replacement past the count), seeded. */
  /**
   * `k` topic paths, each path once before any repeats. Without `seed` every call draws a fresh
   * sample (the seed's incremental loop then covers new topics); with one it is repeatable.
   */
  sampleTopics(k: number, seed: number = randomSeed()): string[][] {
    const order = this.paths.map((_, i) => i).sort((a, b) => hash32(seed, a) - hash32(seed, b));
    return Array.from({ length: k }, (_, i) => [...this.paths[order[i % order.length]!]!]);
  }

  /** A Mermaid flowchart of the tree (shared prefixes merged). */
  /** The tree as a standalone SVG. */
  toSvg(): string {
    const { nodes, rootId } = nodesFromPaths(this.paths);
    return drawSvg(nodes, rootId);
  }

  toMermaid(): string {
    const ids = new Map<string, number>();
    const lines = ['graph TD'];
    const esc = (t: string) => t.replace(/"/g, "'");
    for (const p of this.paths) {
      p.forEach((topic, i) => {
        const key = JSON.stringify(p.slice(0, i + 1));
        if (ids.has(key)) return;
        ids.set(key, ids.size);
        lines.push(`  n${ids.get(key)}["${esc(topic)}"]`);
        if (i > 0) lines.push(`  n${ids.get(JSON.stringify(p.slice(0, i)))} --> n${ids.get(key)}`);
      });
    }
    return lines.join('\n') + '\n';
  }

  /** Writes DeepFabric's tree JSONL. */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, this.paths.map((p) => JSON.stringify({ path: p }) + '\n').join(''));
  }

  /** Reads DeepFabric's tree JSONL; a bad line is named by number. */
  static async load(file: string): Promise<Tree> {
    const paths = parseTopicPaths(await fs.readFile(file, 'utf8'), file);
    if (!paths.length) throw new ConfigurationError(`${file}: no topic paths`);
    return new Tree(paths);
  }
}
