/**
 * DeepFabric's topic ids hash Python's `json.dumps(path)`: checked against the python3 on this machine
 * (the same json module DeepFabric uses), for text JSON.stringify would write differently.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { deepFabricGraphFile, pythonJsonDumps, topicHash, topicId } from '../../src/topics/deepfabric-ids';

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
