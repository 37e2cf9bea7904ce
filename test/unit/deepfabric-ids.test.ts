/**
 * DeepFabric's topic ids hash Python's `json.dumps(path)`: checked against the python3 on this machine
 * (the same json module DeepFabric uses), for text JSON.stringify would write differently.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { deepFabricGraphFile, pythonJsonDumps, topicHash, topicId } from '../../src/topics/deepfabric-ids';
import { Graph } from '../../src/topics/graph';

const paths = [
  ['Cooking', 'Baking', 'Bread'],
  ['Crème brûlée', 'naïve café'],
  ['Smoking 🔥', '漢字', 'quote " and \\ backslash'],
  ['tab\there', 'line\nbreak', 'bell\u0007 del\u007f', 'form\ffeed\bback\rcr'],
  [],
];

test('pythonJsonDumps and topicId match Python json.dumps + sha256 for every path', () => {
  const py = execFileSync(
    'python3',
    ['-c', 'import hashlib,json,sys\nfor p in json.load(sys.stdin): d=json.dumps(p); print(json.dumps([d, hashlib.sha256(d.encode()).hexdigest()[:16]]))'],
    { input: JSON.stringify(paths) },
  )
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as [string, string]);
  expect(paths.map((p) => [pythonJsonDumps(p), topicId(p)])).toEqual(py);
  // What the old id (JSON.stringify) gave differs for every non-empty path.
  expect(paths.filter((p) => p.length && createHash('sha256').update(JSON.stringify(p)).digest('hex').slice(0, 16) === topicId(p))).toEqual([]);
});

test("a graph file gets DeepFabric's metadata and node uuids once; what it had is kept", () => {
  const first = deepFabricGraphFile({
    nodes: { '0': { id: 0, topic: 'Root', children: [], parents: [], metadata: {} } },
    root_id: 0,
    metadata: { provider: 'openai', model: 'm', temperature: 0.2 },
  });
  const meta = first.metadata as Record<string, unknown>;
  expect(meta).toMatchObject({ provider: 'openai', model: 'm', temperature: 0.2 });
  expect(new Date(meta.created_at as string).toISOString()).toBe(meta.created_at);
  const node = (first.nodes as Record<string, { metadata: { uuid: string; topic_hash: string } }>)['0']!;
  expect(node.metadata.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(node.metadata.topic_hash).toBe(topicHash('Root'));
  expect(deepFabricGraphFile(first)).toEqual(first);
});

test("a graph's topics are its nodes but the root, once each, with DeepFabric's uuids (derived when missing, the same in its saved file)", () => {
  const g = new Graph(0);
  g.addNode('Root');
  const a = g.addNode('A', 0);
  const b = g.addNode('B', 0, { uuid: 'b-own-uuid' });
  const c = g.addNode('C', a.id);
  g.addEdge(b.id, c.id); // a cross-link: C has two parents, and is one topic
  const topics = g.uniqueTopics();
  expect(topics.map((t) => t.path)).toEqual([
    ['Root', 'A'],
    ['Root', 'B'],
    ['Root', 'A', 'C'],
  ]);
  expect(topics[1]!.id).toBe('b-own-uuid');
  for (const t of [topics[0]!, topics[2]!]) expect(t.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(topics[0]!.id).not.toBe(topics[2]!.id);
  // Derived, not random: the same graph names its nodes the same way again, and so does its file.
  expect(g.uniqueTopics()).toEqual(topics);
  const file = deepFabricGraphFile(g.toJSON()) as { nodes: Record<string, { metadata: { uuid: string } }> };
  expect([file.nodes['1']!.metadata.uuid, file.nodes['2']!.metadata.uuid, file.nodes['3']!.metadata.uuid]).toEqual(topics.map((t) => t.id));
  expect(Graph.fromJSON(file).uniqueTopics()).toEqual(topics);
  // Another root topic, other ids.
  const other = new Graph(0);
  other.addNode('Other root');
  other.addNode('A', 0);
  expect(other.uniqueTopics()[0]!.id).not.toBe(topics[0]!.id);
});
