/**
 * A topic tree or graph drawn as a standalone SVG (no browser, no library): left to right, one column
 * per level, leaves one row apart, each parent centred on its children. In a graph, a node's first
 * parent places it; its other parents' links (cross-links) are dashed.
 */

interface DrawNode {
  id: number;
  label: string;
  children: number[];
}

const COL = 240;
const ROW = 26;
const BOX_W = 200;
const BOX_H = 20;
const MAX_LABEL = 34;

const xml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const short = (t: string) => (t.length > MAX_LABEL ? `${t.slice(0, MAX_LABEL - 1)}…` : t);

export function drawSvg(nodes: Map<number, DrawNode>, rootId: number): string {
  const pos = new Map<number, { x: number; y: number }>();
  const primary: [number, number][] = [];
  const cross: [number, number][] = [];
  let nextRow = 0;
  const place = (id: number, depth: number): number => {
    const n = nodes.get(id)!;
    const ys: number[] = [];
    pos.set(id, { x: 10 + depth * COL, y: 0 }); // claimed before the children, so a cycle or a second parent is a cross-link
    for (const c of n.children) {
      if (!nodes.has(c)) continue;
      if (pos.has(c)) cross.push([id, c]);
      else {
        primary.push([id, c]);
        ys.push(place(c, depth + 1));
      }
    }
    const y = ys.length ? (ys[0]! + ys[ys.length - 1]!) / 2 : 10 + nextRow++ * ROW;
    pos.get(id)!.y = y;
    return y;
  };
  if (nodes.has(rootId)) place(rootId, 0);
  const width = Math.max(...[...pos.values()].map((p) => p.x)) + BOX_W + 10;
  const height = Math.max(1, nextRow) * ROW + 10;
  const edge = ([a, b]: [number, number], dashed: boolean) => {
    const p = pos.get(a)!;
    const q = pos.get(b)!;
    return `<line x1="${p.x + BOX_W}" y1="${p.y + BOX_H / 2}" x2="${q.x}" y2="${q.y + BOX_H / 2}" stroke="${dashed ? '#c66' : '#888'}"${dashed ? ' stroke-dasharray="4 3"' : ''}/>`;
  };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    ...primary.map((e) => edge(e, false)),
    ...cross.map((e) => edge(e, true)),
    ...[...pos].map(([id, p]) => {
      const label = nodes.get(id)!.label;
      return `<g><title>${xml(label)}</title><rect x="${p.x}" y="${p.y}" width="${BOX_W}" height="${BOX_H}" rx="4" fill="${id === rootId ? '#dde8ff' : '#f4f4f4'}" stroke="#999"/><text x="${p.x + 6}" y="${p.y + 14}">${xml(short(label))}</text></g>`;
    }),
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}

/** The nodes of a tree given as paths (root first), for `drawSvg`. */
export function nodesFromPaths(paths: string[][]): { nodes: Map<number, DrawNode>; rootId: number } {
  const ids = new Map<string, number>();
  const nodes = new Map<number, DrawNode>();
  for (const p of paths) {
    p.forEach((topic, i) => {
      const key = JSON.stringify(p.slice(0, i + 1));
      if (ids.has(key)) return;
      const id = ids.size;
      ids.set(key, id);
      nodes.set(id, { id, label: topic, children: [] });
      if (i > 0) nodes.get(ids.get(JSON.stringify(p.slice(0, i)))!)!.children.push(id);
    });
  }
  return { nodes, rootId: 0 };
}
