import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../storage/run-store';
import { hash32 } from './sampling';

const NodeSchema = z.object({
  id: z.union([z.number().int(), z.string()]),
  topic: z.string(),
  children: z.array(z.union([z.number().int(), z.string()])).default([]),
  parents: z.array(z.union([z.number().int(), z.string()])).default([]),
  metadata: z.record(z.string(), z.unknown()).default({}),
});
const GraphFileSchema = z.object({
  nodes: z.record(z.string(), z.unknown()),
  root_id: z.union([z.number().int(), z.string()]),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export interface GraphNode {
  id: number;
  topic: string;
  children: number[];
  parents: number[];
  metadata: Record<string, unknown>;
}

/** DeepFabric's topic id: the first 16 hex chars of sha256 of the JSON of the path. */
export function topicId(path: string[]): string {
  return createHash('sha256').update(JSON.stringify(path)).digest('hex').slice(0, 16);
}

/**
 * A directed acyclic graph of topics in DeepFabric's JSON form. Path listing is depth-first from
 * the root and cycle-safe, so even a hand-edited file with a cycle terminates.
 */
export class Graph {
  readonly nodes = new Map<number, GraphNode>();
  constructor(
    readonly rootId = 0,
    readonly metadata: Record<string, unknown> = {},
  ) {}

  addNode(topic: string, parent?: number, metadata: Record<string, unknown> = {}): GraphNode {
    const id = this.nodes.size === 0 ? this.rootId : Math.max(...this.nodes.keys()) + 1;
    const node: GraphNode = { id, topic, children: [], parents: [], metadata };
    this.nodes.set(id, node);
    if (parent !== undefined) this.addEdge(parent, id);
    return node;
  }

  /** True when `to` can reach `from`: adding from->to would close a cycle. */
  wouldCycle(from: number, to: number): boolean {
    if (from === to) return true;
    const stack = [to];
    const seen = new Set<number>();
    while (stack.length) {
      const n = stack.pop()!;
      if (n === from) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(this.nodes.get(n)?.children ?? []));
    }
    return false;
  }

  /** Adds an edge unless it exists or would close a cycle; returns whether it was added. */
  addEdge(from: number, to: number): boolean {
    const a = this.nodes.get(from);
    const b = this.nodes.get(to);
    if (!a || !b || a.children.includes(to) || this.wouldCycle(from, to)) return false;
    a.children.push(to);
    b.parents.push(from);
    return true;
  }

  /** Every root-to-leaf path of topics, depth-first, never revisiting a node on the current path. */
  getAllPaths(): string[][] {
    const out: string[][] = [];
    const walk = (id: number, trail: number[]) => {
      const node = this.nodes.get(id);
      if (!node) return;
      const next = node.children.filter((c) => !trail.includes(c) && this.nodes.has(c));
      const here = [...trail, id];
      if (next.length === 0) {
        out.push(here.map((n) => this.nodes.get(n)!.topic));
        return;
      }
      for (const c of next) walk(c, here);
    };
    walk(this.rootId, []);
    return out;
  }

  /** Topics at depth `n` (root = 0) along paths, each as its path from the root. */
  getTopicsAtDepth(n: number): string[][] {
    const seen = new Map<string, string[]>();
    for (const p of this.getAllPaths()) {
      if (p.length > n) seen.set(JSON.stringify(p.slice(0, n + 1)), p.slice(0, n + 1));
    }
    return [...seen.values()];
  }

  sampleTopics(k: number, seed = 42): string[][] {
    const paths = this.getAllPaths();
    const order = paths.map((_, i) => i).sort((a, b) => hash32(seed, a) - hash32(seed, b));
    return Array.from({ length: k }, (_, i) => [...paths[order[i % order.length]!]!]);
  }

  toJSON(): Record<string, unknown> {
    const nodes: Record<string, unknown> = {};
    for (const n of this.nodes.values()) nodes[String(n.id)] = n;
    return { nodes, root_id: this.rootId, metadata: this.metadata };
  }

  async save(file: string): Promise<void> {
    await writeFileAtomic(file, JSON.stringify(this.toJSON(), null, 2) + '\n');
  }

  /** Parses DeepFabric's graph JSON; a malformed node is named by id. */
  static fromJSON(value: unknown, source = 'graph'): Graph {
    const file = GraphFileSchema.safeParse(value);
    if (!file.success) throw new Error(`${source}: not a topic graph (${file.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
    const graph = new Graph(Number(file.data.root_id), file.data.metadata ?? {});
    for (const [key, raw] of Object.entries(file.data.nodes)) {
      const node = NodeSchema.safeParse(raw);
      if (!node.success) throw new Error(`${source}: node "${key}" is malformed (${node.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
      const n = node.data;
      graph.nodes.set(Number(n.id), { id: Number(n.id), topic: n.topic, children: n.children.map(Number), parents: n.parents.map(Number), metadata: n.metadata });
    }
    if (!graph.nodes.has(graph.rootId)) throw new Error(`${source}: root_id ${graph.rootId} is not among the nodes`);
    for (const n of graph.nodes.values()) {
      for (const c of n.children) if (!graph.nodes.has(c)) throw new Error(`${source}: node "${n.id}" has child ${c}, which does not exist`);
    }
    return graph;
  }

  static async load(file: string): Promise<Graph> {
    let value: unknown;
    try {
      value = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    return Graph.fromJSON(value, file);
  }

  /** A Mermaid flowchart of the graph. */
  toMermaid(): string {
    const esc = (t: string) => t.replace(/"/g, "'");
    const lines = ['graph TD'];
    for (const n of this.nodes.values()) lines.push(`  n${n.id}["${esc(n.topic)}"]`);
    for (const n of this.nodes.values()) for (const c of n.children) lines.push(`  n${n.id} --> n${c}`);
    return lines.join('\n') + '\n';
  }
}
