import { createHash, randomUUID } from 'node:crypto';

/**
 * Python's `json.dumps(value)` for a list of strings, byte for byte: `", "` between items and
 * `ensure_ascii` (every character outside space..~ escaped as `\uXXXX`, astral ones as surrogate
 * pairs). DeepFabric hashes this text, so `JSON.stringify` (no spaces, raw UTF-8) gives other ids.
 */
export function pythonJsonDumps(items: string[]): string {
  const str = (s: string) =>
    '"' +
    s.replace(/[^ -~]|["\\]/g, (ch) => {
      switch (ch) {
        case '"':
          return '\\"';
        case '\\':
          return '\\\\';
        case '\n':
          return '\\n';
        case '\r':
          return '\\r';
        case '\t':
          return '\\t';
        case '\b':
          return '\\b';
        case '\f':
          return '\\f';
        default:
          return '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
      }
    }) +
    '"';
  return '[' + items.map(str).join(', ') + ']';
}

/** DeepFabric's topic id of a path: the first 16 hex chars of sha256 of `json.dumps(path)` (its `Tree._path_to_id`). */
export function topicId(path: string[]): string {
  return createHash('sha256').update(pythonJsonDumps(path)).digest('hex').slice(0, 16);
}

/** DeepFabric's `topic_hash` of a graph node: sha256 of its topic text. */
export function topicHash(topic: string): string {
  return createHash('sha256').update(topic).digest('hex');
}

/**
 * A graph's JSON in the form DeepFabric 4.13's `GraphModel` loads: `metadata` with `provider`,
 * `model`, `temperature` and `created_at` (required there), and each node's `metadata.uuid` and
 * `metadata.topic_hash`. What the file already has is kept (a uuid made once stays the node's id in
 * both tools); what is missing is made here, at the first save.
 */
export function deepFabricGraphFile(graph: Record<string, unknown>): Record<string, unknown> {
  const meta = (graph.metadata ?? {}) as Record<string, unknown>;
  const nodes = (graph.nodes ?? {}) as Record<string, { topic: string; metadata?: Record<string, unknown> }>;
  const outNodes: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(nodes)) {
    const m = node.metadata ?? {};
    outNodes[key] = {
      ...node,
      metadata: {
        ...m,
        uuid: typeof m.uuid === 'string' ? m.uuid : randomUUID(),
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
