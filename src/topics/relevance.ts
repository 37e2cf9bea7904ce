/**
 * Picks the existing graph nodes most related to a topic path, so the model sees a bounded,
 * relevant slice of a graph of any size (DeepFabric shows the whole graph only up to 20 nodes).
 * Pure and deterministic: word overlap, then shared branch, then id.
 */
function words(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w.length > 2),
  );
}

export function relevantNodes(
  nodes: Iterable<{ id: number; topic: string; branch: number | undefined }>,
  path: string[],
  self: { id: number; branch: number | undefined; ancestors: Set<number> },
  limit: number,
): { id: number; topic: string }[] {
  if (limit <= 0) return [];
  const target = words(path.join(' '));
  const scored: { id: number; topic: string; score: number }[] = [];
  for (const n of nodes) {
    if (n.id === self.id || self.ancestors.has(n.id)) continue;
    let overlap = 0;
    for (const w of words(n.topic)) if (target.has(w)) overlap++;
    // Other branches first on ties: cross-links between branches are the ones a tree cannot express.
    const score = overlap * 2 + (n.branch !== self.branch ? 1 : 0);
    scored.push({ id: n.id, topic: n.topic, score });
  }
  scored.sort((a, b) => b.score - a.score || a.id - b.id);
  return scored.slice(0, limit).map(({ id, topic }) => ({ id, topic }));
}
