import { inspectTopics, prunePaths } from '../../src/topics/topic-tools';

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
    expect(() => prunePaths(paths, { level: 0 })).toThrow(/at least 1/);
  });
});
