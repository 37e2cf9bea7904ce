/**
 * The topic graph's pure core: nodes, edges that never close a cycle, cycle-safe path listing.
 * No IO, so the graph-building workflow can hold one.
 */

export interface GraphNode {
  id: number;
  topic: string;
  children: number[];
  parents: number[];
  metadata: Record<string, unknown>;
}

/**
 * A directed acyclic graph of topics in DeepFabric's JSON form. Path listing is depth-first from
 * the root and cycle-safe, so even a hand-edited file with a cycle terminates.
 */
export class GraphCore {
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

  toJSON(): Record<string, unknown> {
    const nodes: Record<string, unknown> = {};
    for (const n of this.nodes.values()) nodes[String(n.id)] = n;
    return { nodes, root_id: this.rootId, metadata: this.metadata };
  }

  /** Path of topics from the root to `id` along first parents. */
  pathTo(id: number): string[] {
    const out: string[] = [];
    const seen = new Set<number>();
    let cur: number | undefined = id;
    while (cur !== undefined && !seen.has(cur)) {
      seen.add(cur);
      const node = this.nodes.get(cur);
      if (!node) break;
      out.unshift(node.topic);
      cur = node.parents[0];
    }
    return out;
  }

  /** Number of edges that join a node to a parent other than its first (cross-links). */
  crossLinkCount(): number {
    let n = 0;
    for (const node of this.nodes.values()) n += Math.max(0, node.parents.length - 1);
    return n;
  }
}
