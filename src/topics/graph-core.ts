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

  /** Each node's depth from the root, breadth first (a node reached by several paths: its shortest); unreachable nodes absent. */
  depths(): Map<number, number> {
    const depth = new Map<number, number>();
    const queue: [number, number][] = [[this.rootId, 0]];
    while (queue.length) {
      const [id, d] = queue.shift()!;
      if (depth.has(id) || !this.nodes.has(id)) continue;
      depth.set(id, d);
      for (const c of this.nodes.get(id)!.children) if (!depth.has(c)) queue.push([c, d + 1]);
    }
    return depth;
  }

  /** Whether some edges close a cycle (never one built here; a hand-edited or foreign file may have one). */
  hasCycle(): boolean {
    const state = new Map<number, 'open' | 'done'>();
    const visit = (id: number): boolean => {
      if (state.get(id) === 'open') return true;
      if (state.get(id) === 'done' || !this.nodes.has(id)) return false;
      state.set(id, 'open');
      const found = this.nodes.get(id)!.children.some(visit);
      state.set(id, 'done');
      return found;
    };
    return [...this.nodes.keys()].some(visit);
  }

  /** Removes a node and its edges. */
  removeNode(id: number): void {
    const node = this.nodes.get(id);
    if (!node) return;
    for (const p of node.parents) {
      const parent = this.nodes.get(p);
      if (parent) parent.children = parent.children.filter((c) => c !== id);
    }
    for (const c of node.children) {
      const child = this.nodes.get(c);
      if (child) child.parents = child.parents.filter((x) => x !== id);
    }
    this.nodes.delete(id);
  }

  /**
   * DeepFabric 4.13's `prune_at_level`: removes every node deeper than `maxDepth` (0 = keep only the
   * root); the nodes at `maxDepth` become leaves. Returns the removed ids.
   */
  pruneAtLevel(maxDepth: number): number[] {
    const depth = this.depths();
    const removed = [...depth].filter(([, d]) => d > maxDepth).map(([id]) => id);
    for (const id of removed) this.removeNode(id);
    return removed;
  }

  /** DeepFabric 4.13's `remove_subtree`: the node and everything below it (never the root). Returns the removed ids. */
  removeSubtree(id: number): number[] {
    if (id === this.rootId) throw new Error('cannot remove the root node');
    const removed: number[] = [];
    const seen = new Set<number>();
    const queue = [id];
    while (queue.length) {
      const n = queue.shift()!;
      if (seen.has(n) || !this.nodes.has(n)) continue;
      seen.add(n);
      removed.push(n);
      queue.push(...this.nodes.get(n)!.children.filter((c) => !seen.has(c)));
    }
    for (const n of [...removed].reverse()) this.removeNode(n);
    return removed;
  }

  /** Number of edges that join a node to a parent other than its first (cross-links). */
  crossLinkCount(): number {
    let n = 0;
    for (const node of this.nodes.values()) n += Math.max(0, node.parents.length - 1);
    return n;
  }
}
