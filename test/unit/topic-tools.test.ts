import { inspectTopicFile, inspectTopics, prunePaths } from '../../src/topics/topic-tools';
import { Graph } from '../../src/topics/graph';

const paths = [
  ['ML', 'Supervised', 'Regression'],
  ['ML', 'Supervised', 'Classification'],
  ['ML', 'Unsupervised', 'Clustering'],
  ['ML', 'Reinforcement'],
];

describe('topic inspect and prune', () => {
  it('reports paths, depth, topics per level and leaves per branch', () => {
    expect(inspectTopics(paths)).toEqual({
      paths: 4,
      maxDepth: 2,
      perLevel: [1, 3, 3],
      branches: [
        ['Supervised', 2],
        ['Unsupervised', 1],
        ['Reinforcement', 1],
      ],
    });
  });
  it('cuts at a level, merging what becomes the same path', () => {
    expect(prunePaths(paths, { level: 1 })).toEqual([
      ['ML', 'Supervised'],
      ['ML', 'Unsupervised'],
      ['ML', 'Reinforcement'],
    ]);
  });
  it('drops a branch, and says which exist when the name is wrong', () => {
    expect(prunePaths(paths, { branch: 'Supervised' })).toEqual([
      ['ML', 'Unsupervised', 'Clustering'],
      ['ML', 'Reinforcement'],
    ]);
    expect(() => prunePaths(paths, { branch: 'Nope' })).toThrow(/no top-level branch "Nope"; branches: Supervised, Unsupervised, Reinforcement/);
    expect(() => prunePaths([['ML', 'A']], { branch: 'A' })).toThrow(/nothing would remain/);
    expect(prunePaths(paths, { level: 0 })).toEqual([['ML']]); // DeepFabric's level 0: the root alone
    expect(() => prunePaths(paths, { level: -1 })).toThrow(/at least 0/);
  });
});

describe("DeepFabric 4.13's topic inspect and prune", () => {
  const tree = [
    ['ML', 'Supervised', 'Regression'],
    ['ML', 'Supervised', 'Classification'],
    ['ML', 'Unsupervised', 'Clustering'],
  ];
  it('inspect --format json: its keys; a level, its expansion n levels deep or all, every path', () => {
    expect(inspectTopicFile('t.jsonl', tree, { root_topic: 'ML' }, {}, 'tree')).toEqual({
      format: 'tree',
      source_file: 't.jsonl',
      total_paths: 3,
      max_depth: 3,
      metadata: { root_topic: 'ML' },
    });
    const r = inspectTopicFile('t.jsonl', tree, {}, { level: 1, expand: 0, all: true }, 'tree');
    expect(r.paths_at_level).toEqual([['Supervised'], ['Unsupervised']]);
    expect(r.expanded_paths).toEqual([['Supervised'], ['Unsupervised']]);
    expect(inspectTopicFile('t.jsonl', tree, {}, { level: 1, expand: -1 }, 'tree').expanded_paths).toEqual(tree.map((p) => p.slice(1)));
    expect(r.all_paths).toEqual(tree);
  });
  it('prune a graph at a level: deeper nodes removed (the shortest depth counts), the level becomes the leaves', () => {
    const g = new Graph(0);
    g.addNode('R');
    const a = g.addNode('A', 0);
    const b = g.addNode('B', 0);
    const a1 = g.addNode('a1', a.id);
    g.addNode('x', a1.id);
    g.addEdge(b.id, a1.id); // a1 is at depth 2 either way
    expect(g.pruneAtLevel(1).sort()).toEqual([a1.id, 4]);
    expect(g.getAllPaths()).toEqual([
      ['R', 'A'],
      ['R', 'B'],
    ]);
    expect(g.nodes.get(a.id)!.children).toEqual([]);
  });
  it('prune a subtree by uuid: the node and all below it; a cross-linked child goes too', () => {
    const g = new Graph(0);
    g.addNode('R');
    const a = g.addNode('A', 0);
    const b = g.addNode('B', 0);
    const shared = g.addNode('shared', a.id);
    g.addEdge(b.id, shared.id);
    const uuid = g.uuids().get(a.id)!;
    expect(g.findByUuid(uuid)?.id).toBe(a.id);
    expect(g.removeSubtree(a.id)).toEqual([a.id, shared.id]);
    expect(g.getAllPaths()).toEqual([['R', 'B']]);
    expect(g.nodes.get(b.id)!.children).toEqual([]);
    expect(() => g.removeSubtree(0)).toThrow(/root/);
    expect(g.hasCycle()).toBe(false);
    g.nodes.get(b.id)!.children.push(0); // a foreign file's back edge
    expect(g.hasCycle()).toBe(true);
  });
});
