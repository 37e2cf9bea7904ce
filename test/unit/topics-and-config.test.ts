import path from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Tree } from '../../src/topics/tree';
import { Graph, topicId } from '../../src/topics/graph';
import { parseYamlConfig } from '../../src/config/yaml-config';
import { configIssues } from '../support/config-issues';

const fixtures = path.join(__dirname, '..', 'fixtures');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'topics-'));

describe('topic files', () => {
  it('saves a tree and a graph into folders that do not exist yet (topics.save_as: ux/out/graph.json)', async () => {
    const dir = tmp();
    const tree = new Tree([['A', 'B']]);
    await tree.save(path.join(dir, 'ux', 'out', 'tree.jsonl'));
    expect((await Tree.load(path.join(dir, 'ux', 'out', 'tree.jsonl'))).getAllPaths()).toEqual([['A', 'B']]);
    const graph = Graph.fromJSON(JSON.parse(readFileSync(path.join(fixtures, 'deepfabric-graph.json'), 'utf8')));
    await graph.save(path.join(dir, 'deep', 'er', 'graph.json'));
    expect((await Graph.load(path.join(dir, 'deep', 'er', 'graph.json'))).getAllPaths()).toEqual(graph.getAllPaths());
  });
  it('loads a DeepFabric tree JSONL, answers depth queries, and round-trips', async () => {
    const tree = await Tree.load(path.join(fixtures, 'deepfabric-tree.jsonl'));
    expect(tree.getAllPaths()).toHaveLength(4);
    expect(tree.getTopicsAtDepth(1)).toEqual([
      ['Machine learning', 'Supervised learning'],
      ['Machine learning', 'Unsupervised learning'],
    ]);
    const file = path.join(tmp(), 't.jsonl');
    await tree.save(file);
    expect((await Tree.load(file)).getAllPaths()).toEqual(tree.getAllPaths());
    expect(tree.sampleTopics(6, 3)).toHaveLength(6);
    expect(tree.sampleTopics(4, 3)).toEqual(tree.sampleTopics(4, 3));
    // Without a seed each call draws afresh (the seed's incremental loop relies on it).
    const draws = new Set(Array.from({ length: 5 }, () => JSON.stringify(tree.sampleTopics(2))));
    expect(draws.size).toBeGreaterThan(1);
  });
  it('names the bad line of a malformed tree file', async () => {
    const file = path.join(tmp(), 'bad.jsonl');
    writeFileSync(file, '{"path": ["a"]}\n{"paths": ["b"]}\n');
    await expect(Tree.load(file)).rejects.toThrow(/line 2 has no "path" list/);
  });
  it('loads a DeepFabric graph JSON and lists paths depth-first', async () => {
    const graph = await Graph.load(path.join(fixtures, 'deepfabric-graph.json'));
    expect(graph.getAllPaths()).toEqual([
      ['Cooking', 'Baking', 'Maillard reaction'],
      ['Cooking', 'Chemistry of food', 'Maillard reaction'],
    ]);
    expect(graph.toMermaid()).toContain('n1 --> n3');
  });
  it('never adds an edge that closes a cycle, and lists paths of a hand-made cyclic file', () => {
    const g = new Graph();
    const root = g.addNode('root');
    const a = g.addNode('a', root.id);
    const b = g.addNode('b', a.id);
    expect(g.addEdge(b.id, a.id)).toBe(false);
    expect(g.addEdge(b.id, root.id)).toBe(false);
    const cyclic = Graph.fromJSON({
      nodes: {
        '0': { id: 0, topic: 'r', children: [1], parents: [] },
        '1': { id: 1, topic: 'x', children: [2], parents: [0, 2] },
        '2': { id: 2, topic: 'y', children: [1], parents: [1] },
      },
      root_id: 0,
    });
    expect(cyclic.getAllPaths()).toEqual([['r', 'x', 'y']]);
  });
  it('names the malformed node', () => {
    expect(() => Graph.fromJSON({ nodes: { '0': { id: 0, topic: 'r', children: [] }, '5': { id: 5 } }, root_id: 0 })).toThrow(/node "5" is malformed/);
  });
  it('computes DeepFabric topic ids', () => {
    expect(topicId(['a', 'b'])).toMatch(/^[0-9a-f]{16}$/);
    expect(topicId(['a', 'b'])).not.toBe(topicId(['a', 'c']));
  });
});

describe('YAML config', () => {
  const good = `
llm: { model: openai/gpt-4o-mini }
topics: { paths: [[A, B]] }
output: { num_samples: 10, batch_size: 5 }
`;
  const problems = configIssues;
  it('accepts a minimal config with defaults', () => {
    const c = parseYamlConfig(good);
    expect(c.generation.conversation.type).toBe('basic');
    // batch_size has DeepFabric's meaning: parallel one-example calls (calls per batch here).
    expect(c.generation.calls_per_batch).toBe(5);
    expect(c.output.samples_per_call).toBe(1);
    expect(c.warnings).toEqual([]);
  });
  it('reports malformed YAML', () => {
    expect(problems('llm: [unclosed')[0]).toMatch(/c.yaml/);
  });
  it('names an unknown key and suggests the closest one', () => {
    expect(problems(good.replace('num_samples', 'num_sample'))).toContain('output.num_sample: unknown option; did you mean "num_samples"?');
  });
  it('names wrong types and bad counts by field', () => {
    expect(problems(good.replace('num_samples: 10', 'num_samples: ten')).join()).toMatch(/output\.num_samples: .*(number|integer)/);
    expect(problems(good.replace('batch_size: 5', 'batch_size: 0')).join()).toMatch(/output\.batch_size/);
  });
  it('requires a topic source', () => {
    expect(problems(good.replace('topics: { paths: [[A, B]] }', 'topics: { mode: tree }')).join()).toMatch(/topics: needs one of paths/);
  });
});
