import { useIntegrationEnv } from '../support/integration-env';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildTopicInput, buildTopics } from '../../src/client/topic-builder';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { Graph } from '../../src/topics/graph';
import { Tree } from '../../src/topics/tree';
import { workerEnv } from '../support/fixtures';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

const env = useIntegrationEnv('topics');
const fixtures = path.join(__dirname, '..', 'fixtures');

const opts = (extra: Record<string, unknown> = {}) => ({
  rootPrompt: 'Machine learning',
  modelName: 'openai/gpt-4o-mini',
  // The worker's store: its expansions and results are found by build id there.
  dataDir: env.dataDir,
  initialBackoffSeconds: 0.1,
  temporal: { client: env.client, taskQueue: env.taskQueue },
  ...extra,
});

function isAcyclic(g: Graph): boolean {
  const state = new Map<number, 1 | 2>();
  const visit = (id: number): boolean => {
    if (state.get(id) === 1) return false;
    if (state.get(id) === 2) return true;
    state.set(id, 1);
    for (const c of g.nodes.get(id)!.children) if (!visit(c)) return false;
    state.set(id, 2);
    return true;
  };
  return [...g.nodes.keys()].every(visit);
}

it('builds a tree of degree 3 and depth 3: 27 leaf paths of length 4, saved and loaded back equal', async () => {
  const { model, result } = await buildTopics(opts({ degree: 3, depth: 3, concurrency: 4 }));
  const paths = model.getAllPaths();
  expect(paths).toHaveLength(27);
  expect(paths.every((p) => p.length === 4 && p[0] === 'Machine learning')).toBe(true);
  expect(new Set(paths.map((p) => JSON.stringify(p))).size).toBe(27);
  expect(result.failed).toBe(0);
  expect(env.llm.calls).toHaveLength(13);
  const file = path.join(tempDataDir(), 'tree.jsonl');
  await (model as Tree).save(file);
  expect((await Tree.load(file)).getAllPaths()).toEqual(paths);
});

it('a build continues as new every expansionsPerRun expansions, carrying its state through the store: the same tree, no node expanded twice', async () => {
  const treeOpts = opts({ degree: 3, depth: 3, concurrency: 2, rootPrompt: 'Segmented tree', expansionsPerRun: 4 });
  const { model, result } = await buildTopics(treeOpts);
  const paths = model.getAllPaths();
  expect(paths).toHaveLength(27);
  expect(new Set(paths.map((p) => JSON.stringify(p))).size).toBe(27);
  expect(env.llm.calls).toHaveLength(13);
  // 1 + 3 expansions, then 4, 4 and the last 1.
  expect(result.progress.segments).toBe(4);
  const { temporal, ...inputOpts } = treeOpts;
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${buildTopicInput(inputOpts).buildId}'` })) runs.push(wf.runId);
  expect(runs).toHaveLength(4);

  const graphBuild = await buildTopics(opts({ mode: 'graph', degree: 2, depth: 3, concurrency: 2, rootPrompt: 'Segmented graph', expansionsPerRun: 3 }));
  const graph = graphBuild.model as Graph;
  expect(graph.nodes.size).toBe(15);
  expect(graphBuild.result.progress.segments).toBe(3);
  expect(graphBuild.result.progress.expanded).toBe(7);
  expect((await Graph.load(graphBuild.result.file)).getAllPaths()).toEqual(graph.getAllPaths());
});

it('holds one global bound on expansions in flight', async () => {
  env.llm.configure({ latencyMs: 200 });
  await buildTopics(opts({ degree: 4, depth: 3, concurrency: 4, rootPrompt: 'Bound test' }));
  expect(env.llm.calls).toHaveLength(1 + 4 + 16);
  expect(env.llm.maxConcurrent).toBe(4);
});

it("records failed expansions instead of padding them, in DeepFabric's side file", async () => {
  env.llm.configure({ script: ['ok', '500', '500'] });
  const { model, result } = await buildTopics(opts({ degree: 2, depth: 2, maxRetries: 1, concurrency: 1, rootPrompt: 'Failing' }));
  expect(result.failed).toBe(1);
  const paths = model.getAllPaths();
  expect(paths).toHaveLength(3); // one branch expanded (2 leaves), the failed node stays a shorter leaf
  expect(paths.filter((p) => p.length === 2)).toHaveLength(1);
  const side = (await fs.readFile(path.join(path.dirname(result.file), 'topics_failed.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(side).toHaveLength(1);
  expect(side[0].failed_generation.node_path).toEqual(paths.find((p) => p.length === 2));
  expect(side[0].failed_generation.error).toMatch(/HTTP 500/);
  expect(side[0].failed_generation.timestamp).toMatch(/^\d{4}-/);
});

it('builds a graph of more than 40 nodes with cross-links, never a cycle, even when the model proposes cycle-closing links', async () => {
  let contextSizes: number[] = [];
  env.llm.configure({
    respond: ({ prompt }) => {
      const ids = [...prompt.matchAll(/^\[(\d+)\] /gm)].map((m) => Number(m[1]));
      contextSizes.push(ids.length);
      if (!prompt.includes('connections')) return undefined;
      const n = Number(/Generate exactly (\d+)/.exec(prompt)![1]);
      // Propose every listed node, the root (an ancestor), and ids that do not exist.
      return {
        subtopics: Array.from({ length: n }, (_, i) => ({
          topic: `Sub ${i} of ${prompt.length}-${Math.random().toString(36).slice(2, 6)}`,
          connections: [...ids.slice(0, 3), 0, 9999],
        })),
      };
    },
  });
  const { model, result } = await buildTopics(opts({ mode: 'graph', degree: 4, depth: 3, concurrency: 3, rootPrompt: 'Cooking' }));
  const graph = model as Graph;
  expect(graph.nodes.size).toBe(1 + 4 + 16 + 64);
  expect(isAcyclic(graph)).toBe(true);
  expect(result.crossLinks).toBeGreaterThan(0);
  // Cross-links keep coming after the graph passed 20 nodes, and the model never saw more than 20.
  const late = [...graph.nodes.values()].filter((n) => n.id > 40 && n.parents.length > 1);
  expect(late.length).toBeGreaterThan(0);
  expect(Math.max(...contextSizes)).toBe(20);
  const paths = graph.getAllPaths();
  expect(paths.length).toBeGreaterThan(64);
  expect(paths.every((p) => p[0] === 'Cooking' && p.length <= 4)).toBe(true);
  const back = await Graph.load(result.file);
  expect(back.getAllPaths()).toEqual(paths);
  contextSizes = [];
});

it('generates from a DeepFabric tree JSONL and graph JSON', async () => {
  const tree = await Tree.load(path.join(fixtures, 'deepfabric-tree.jsonl'));
  const graph = await Graph.load(path.join(fixtures, 'deepfabric-graph.json'));
  const gen = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir: env.dataDir, temporal: { client: env.client, taskQueue: env.taskQueue } });
  const a = await gen.createData({ topicModel: tree, numSteps: 4, batchSize: 2, runName: 'df-tree' });
  const b = await gen.createData({ topicModel: graph, numSteps: 3, batchSize: 3, runName: 'df-graph' });
  expect(a.length).toBe(4);
  expect(b.length).toBe(3);
  expect(env.llm.calls[0]!.prompt).toContain('Machine learning -> Supervised learning -> Linear regression');
  // A graph's topics are its nodes but the root, in node order (DeepFabric 4.x), each given by its path; their uuids are the records' topic ids.
  const prompt = env.llm.calls.at(-1)!.prompt;
  expect(prompt).toMatch(/Example 1: .*Cooking -> Baking\nExample 2: .*Cooking -> Chemistry of food\nExample 3: .*Cooking -> Baking -> Maillard reaction/);
  expect([...b].map((r) => (r as { metadata: { topic_id: string } }).metadata.topic_id)).toEqual(['b', 'c', 'd']);
});

it("sends a large topic set by reference: the run's history stays small", async () => {
  const paths = Array.from({ length: 3000 }, (_, i) => ['Big', `Branch ${i % 7}`, `Topic number ${i} with a fairly long name to weigh something`]);
  const gen = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir: env.dataDir, temporal: { client: env.client, taskQueue: env.taskQueue } });
  const run = await gen.startData({ topics: paths, numSteps: 14, batchSize: 2, samplingStrategy: 'balanced', runName: 'big-topics' });
  const result = await run.result();
  expect(result.records).toBe(14);
  const history = JSON.stringify(await run.handle.fetchHistory());
  expect(history.length).toBeLessThan(100_000);
  // balanced: the first 7 slots hit 7 different branches
  const branches = env.llm.calls.flatMap((c) => [...c.prompt.matchAll(/Big -> (Branch \d)/g)].map((m) => m[1]));
  expect(new Set(branches).size).toBe(7);
});

it('a worker killed mid-build resumes without expanding a recorded node twice', async () => {
  env.llm.configure({ latencyMs: 300 });
  const tq = uniqueTaskQueue('tree-crash');
  const dataDir = tempDataDir('tree-crash-');
  let proc = await spawnWorkerProcess(tq, { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir });
  try {
    const building = buildTopics(
      opts({ degree: 3, depth: 3, concurrency: 2, heartbeatTimeout: 2, dataDir, rootPrompt: 'Crashy', temporal: { client: env.client, taskQueue: tq } }),
    );
    const nodesDir = () =>
      fs
        .readdir(path.join(dataDir, 'topics'))
        .then(([d]) => (d ? fs.readdir(path.join(dataDir, 'topics', d, 'nodes')) : []))
        .catch(() => [] as string[]);
    await waitFor(async () => (await nodesDir()).length >= 3, 60_000, 50);
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    const recordedFiles = new Set(await nodesDir());
    const recorded = recordedFiles.size;
    const callsAtKill = env.llm.calls.length;
    proc = await spawnWorkerProcess(tq, { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir });
    const { model } = await building;
    expect(model.getAllPaths()).toHaveLength(27);
    // No call after the restart for a node whose answer was recorded (its checkpoint file existed).
    const fileOf = (batch: string | undefined) => `${batch!.slice(batch!.indexOf('/') + 1)}.json`;
    const after = env.llm.calls.slice(callsAtKill).map((c) => fileOf(c.batch));
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((f) => recordedFiles.has(f))).toEqual([]);
    expect(env.llm.calls.length).toBeLessThanOrEqual(13 + 2); // at most the 2 in flight at the kill are paid twice
    expect(recorded).toBeGreaterThanOrEqual(3);
  } finally {
    proc.kill('SIGKILL');
  }
});

it('a proposed near-duplicate sibling is not added; the expansion asks again for the missing one (issue 13)', async () => {
  env.llm.configure({
    respond: ({ prompt, callNo }) =>
      callNo === 1
        ? { subtopics: ['Supervised learning', 'Learning, supervised', 'Reinforcement learning'] }
        : /Do not repeat/.test(prompt)
          ? { subtopics: ['Unsupervised learning'] }
          : undefined,
  });
  const { model, result } = await buildTopics(opts({ degree: 3, depth: 1 }));
  const leaves = model.getAllPaths().map((p) => p[1]);
  expect(leaves.sort()).toEqual(['Reinforcement learning', 'Supervised learning', 'Unsupervised learning']);
  expect(env.llm.calls).toHaveLength(2);
  expect(env.llm.calls[1]!.prompt).toMatch(/Generate exactly 1 .*Do not repeat or rephrase any of these: Supervised learning; Reinforcement learning\./s);
  expect(result.progress.duplicatesDropped).toBe(1);
});
