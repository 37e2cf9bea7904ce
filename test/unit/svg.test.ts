import { drawSvg, nodesFromPaths } from '../../src/topics/svg';

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

describe('topic drawings as SVG', () => {
  it('draws a tree: one box per topic, one solid line per parent-child link, labels escaped', () => {
    const { nodes, rootId } = nodesFromPaths([
      ['C & C++', 'Pointers', 'Arithmetic'],
      ['C & C++', 'Pointers', 'Aliasing'],
      ['C & C++', 'Templates <T>'],
    ]);
    const svg = drawSvg(nodes, rootId);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(count(svg, /<rect /g)).toBe(5);
    expect(count(svg, /<line /g)).toBe(4);
    expect(count(svg, /stroke-dasharray/g)).toBe(0);
    expect(svg).toContain('C &amp; C++');
    expect(svg).toContain('Templates &lt;T&gt;');
    // Leaves one row apart, the parent centred on its two children.
    const y = (label: string) => Number(new RegExp(`<rect x="\\d+" y="([\\d.]+)"[^>]*/><text[^>]*>${label}<`).exec(svg)![1]);
    expect(y('Aliasing') - y('Arithmetic')).toBe(26);
    expect(y('Pointers')).toBe((y('Arithmetic') + y('Aliasing')) / 2);
  });

  it('draws a graph: a second parent and a link back up are dashed, and nothing loops', () => {
    const nodes = new Map([
      [0, { id: 0, label: 'root', children: [1, 2] }],
      [1, { id: 1, label: 'a', children: [3] }],
      [2, { id: 2, label: 'b', children: [3, 0] }],
      [3, { id: 3, label: 'shared', children: [] }],
    ]);
    const svg = drawSvg(nodes, 0);
    expect(count(svg, /<rect /g)).toBe(4);
    expect(count(svg, /<line /g)).toBe(5);
    expect(count(svg, /stroke-dasharray/g)).toBe(2); // b -> shared (second parent), b -> root (a cycle)
  });
});
