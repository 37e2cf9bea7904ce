import * as api from '../../src';

it('exports what the seed imports next to DataSetGenerator', () => {
  // from deepfabric import DataSetGenerator, Tree (and Graph for topic graphs)
  const tree = new api.Tree([
    ['Root', 'A'],
    ['Root', 'B'],
  ]);
  expect(tree.getAllPaths()).toEqual([
    ['Root', 'A'],
    ['Root', 'B'],
  ]);
  expect(typeof api.Graph.fromJSON).toBe('function');
  expect(typeof api.buildTopics).toBe('function');
  expect(typeof api.DataSetGenerator).toBe('function');
  expect(new api.ValidationError('x')).toBeInstanceOf(api.DataSetGeneratorError);
  expect(new api.ModelError('x', { category: 'server_error', provider: 'openai' })).toBeInstanceOf(api.DataSetGeneratorError);
  expect(new api.ConfigurationError('x').code).toBe('configuration_error');
  expect(api.ERROR_CODES).toContain('upload_failed');
  expect(typeof api.uploadToHub).toBe('function');
});
