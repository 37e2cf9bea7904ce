import { createHash } from 'node:crypto';
import { pyDumps } from '../python-json';

/**
 * Python's `json.dumps(value)` for a list of strings, byte for byte (`", "` between items,
 * `ensure_ascii`). DeepFabric hashes this text, so `JSON.stringify` (no spaces, raw UTF-8) gives other ids.
 */
export const pythonJsonDumps = (items: string[]): string => pyDumps(items);

/** DeepFabric's topic id of a path: the first 16 hex chars of sha256 of `json.dumps(path)` (its `Tree._path_to_id`). */
export function topicId(path: string[]): string {
  return createHash('sha256').update(pythonJsonDumps(path)).digest('hex').slice(0, 16);
}

/** DeepFabric's `topic_hash` of a graph node: sha256 of its topic text. */
export function topicHash(topic: string): string {
  return createHash('sha256').update(topic).digest('hex');
}

/**
 * A graph node's uuid: its own (`metadata.uuid`, DeepFabric's random one for its graphs), else one
 * derived from the root's topic, the node's id and its topic, in uuid v4 form. Derived, not random,
 * so a graph built here names its nodes the same way in its saved file, in every run that samples
 * it and across restarts (records' `metadata.topic_id` on graphs is the node's uuid, as in DeepFabric).
 */
export function nodeUuid(rootTopic: string, node: { id: number | string; topic: string; metadata?: Record<string, unknown> }): string {
  const own = node.metadata?.uuid;
  if (typeof own === 'string' && own) return own;
  const h = createHash('sha256')
    .update(pyDumps([rootTopic, String(node.id), node.topic]))
    .digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A graph's JSON in the form DeepFabric 4.13's `GraphModel` loads: `metadata` with `provider`,
 * `model`, `temperature` and `created_at` (required there), and each node's `metadata.uuid` and
 * `metadata.topic_hash`. What the file already has is kept (a uuid made once stays the node's id in
 * both tools); a missing uuid is derived (`nodeUuid`), the same one runs use as topic id.
 */
export function deepFabricGraphFile(graph: Record<string, unknown>): Record<string, unknown> {
  const meta = (graph.metadata ?? {}) as Record<string, unknown>;
  const nodes = (graph.nodes ?? {}) as Record<string, { id: number | string; topic: string; metadata?: Record<string, unknown> }>;
  const rootTopic = nodes[String(graph.root_id)]?.topic ?? '';
  const outNodes: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(nodes)) {
    const m = node.metadata ?? {};
    outNodes[key] = {
      ...node,
      metadata: {
        ...m,
        uuid: nodeUuid(rootTopic, node),
        topic_hash: typeof m.topic_hash === 'string' ? m.topic_hash : topicHash(node.topic),
      },
    };
  }
  return {
    ...graph,
    nodes: outNodes,
    metadata: {
      ...meta,
      provider: typeof meta.provider === 'string' ? meta.provider : 'unknown',
      model: typeof meta.model === 'string' ? meta.model : 'unknown',
      temperature: typeof meta.temperature === 'number' ? meta.temperature : 0.7,
      created_at: typeof meta.created_at === 'string' ? meta.created_at : new Date().toISOString(),
    },
  };
}
