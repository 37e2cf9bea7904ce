import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../files';
import { randomSeed } from './random-seed';
import { hash32 } from './sampling';
import { GraphCore, type GraphNode } from './graph-core';
import { drawSvg } from './svg';
import { ConfigurationError } from '../errors';
import { deepFabricGraphFile, nodeUuid } from './deepfabric-ids';

export type { GraphNode };

export { topicId } from './deepfabric-ids';

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

export class Graph extends GraphCore {
  /**
   * `k` topic paths, each path once before any repeats. Without `seed` every call draws a fresh
   * sample (the seed's incremental loop then covers new topics); with one it is repeatable.
   */
  sampleTopics(k: number, seed: number = randomSeed()): string[][] {
    const paths = this.getAllPaths();
    const order = paths.map((_, i) => i).sort((a, b) => hash32(seed, a) - hash32(seed, b));
    return Array.from({ length: k }, (_, i) => [...paths[order[i % order.length]!]!]);
  }

  /**
   * DeepFabric 4.13's topics of a graph (its `get_unique_topics`): every node but the root, once
   * each (by uuid), in node order, with its uuid as topic id. Its path is the node's path from the
   * root along first parents; DeepFabric prompts an inner node with its topic alone and a leaf with
   * its root-to-leaf path: the path gives the model the same context for both.
   */
  uniqueTopics(): { path: string[]; id: string }[] {
    const rootTopic = this.nodes.get(this.rootId)?.topic ?? '';
    const seen = new Set<string>();
    const out: { path: string[]; id: string }[] = [];
    for (const node of this.nodes.values()) {
      if (node.id === this.rootId) continue;
      const id = nodeUuid(rootTopic, node);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ path: this.pathTo(node.id), id });
    }
    return out;
  }

  /** The node whose uuid is `uuid` (its own, or the one derived for it). */
  findByUuid(uuid: string): GraphNode | undefined {
    const rootTopic = this.nodes.get(this.rootId)?.topic ?? '';
    return [...this.nodes.values()].find((n) => nodeUuid(rootTopic, n) === uuid);
  }

  /** Each node's uuid (its own, or the one derived for it), by node id. */
  uuids(): Map<number, string> {
    const rootTopic = this.nodes.get(this.rootId)?.topic ?? '';
    return new Map([...this.nodes.values()].map((n) => [n.id, nodeUuid(rootTopic, n)]));
  }

  /** Saved in DeepFabric's form (its loaders read it: metadata with created_at, node uuids and hashes). */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, JSON.stringify(deepFabricGraphFile(this.toJSON()), null, 2) + '\n');
  }

  /** Parses DeepFabric's graph JSON; a malformed node is named by id. */
  static fromJSON(value: unknown, source = 'graph'): Graph {
    const file = GraphFileSchema.safeParse(value);
    if (!file.success)
      throw new ConfigurationError(
        `${source}: not a topic graph (${file.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`,
      );
    const graph = new Graph(Number(file.data.root_id), file.data.metadata ?? {});
    for (const [key, raw] of Object.entries(file.data.nodes)) {
      const node = NodeSchema.safeParse(raw);
      if (!node.success)
        throw new ConfigurationError(`${source}: node "${key}" is malformed (${node.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
      const n = node.data;
      graph.nodes.set(Number(n.id), {
        id: Number(n.id),
        topic: n.topic,
        children: n.children.map(Number),
        parents: n.parents.map(Number),
        metadata: n.metadata,
      });
    }
    if (!graph.nodes.has(graph.rootId)) throw new ConfigurationError(`${source}: root_id ${graph.rootId} is not among the nodes`);
    for (const n of graph.nodes.values()) {
      for (const c of n.children) if (!graph.nodes.has(c)) throw new ConfigurationError(`${source}: node "${n.id}" has child ${c}, which does not exist`);
    }
    return graph;
  }

  static async load(file: string): Promise<Graph> {
    let value: unknown;
    try {
      value = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      throw new ConfigurationError(`${file}: ${(err as Error).message}`);
    }
    return Graph.fromJSON(value, file);
  }

  /** A Mermaid flowchart of the graph. */
  /** The graph as a standalone SVG (cross-links dashed). */
  toSvg(): string {
    const nodes = new Map([...this.nodes.values()].map((n) => [n.id, { id: n.id, label: n.topic, children: n.children }]));
    return drawSvg(nodes, this.rootId);
  }

  toMermaid(): string {
    const esc = (t: string) => t.replace(/"/g, "'");
    const lines = ['graph TD'];
    for (const n of this.nodes.values()) lines.push(`  n${n.id}["${esc(n.topic)}"]`);
    for (const n of this.nodes.values()) for (const c of n.children) lines.push(`  n${n.id} --> n${c}`);
    return lines.join('\n') + '\n';
  }
}
