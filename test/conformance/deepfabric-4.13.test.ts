/**
 * Conformance with DeepFabric 4.13, judged by DeepFabric's own code (issue 19): DeepFabric 4.x
 * configs in their documented form run through this project's CLI against the local model server;
 * then DeepFabric 4.13.0 (PyPI, in the venv of scripts/ensure-deepfabric.sh) validates every record
 * with its `Conversation` model and loads the topic files with its loaders, and this project loads
 * the tree and graph files DeepFabric's own classes write. `npm run test:conformance`.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { topicId } from '../../src/topics/deepfabric-ids';
import { loadTopicModel } from '../../src/topics/topic-model-file';
import { readJsonl, runCli } from '../support/cli';
import { agentModel, configs } from '../support/deepfabric-configs';
import { LlmTestServer } from '../support/llm-server';
import { spawnWorkerProcess, temporalAddress, uniqueTaskQueue } from '../support/temporal';

const checker = path.join(__dirname, 'deepfabric_check.py');
const python = process.env.DEEPFABRIC_PYTHON;
const cwd = mkdtempSync(path.join(os.tmpdir(), 'df-conformance-'));

let llm: LlmTestServer;
let worker: ChildProcess;
let env: Record<string, string>;

/** DeepFabric's verdict on a file (see deepfabric_check.py); a loader's refusal comes back as `refused`. */
async function deepfabric<T>(command: string, file: string): Promise<T & { refused?: string }> {
  if (!python) throw new Error('DEEPFABRIC_PYTHON is not set: run `npm run test:conformance` (it makes the DeepFabric 4.13 venv)');
  const { stdout } = await promisify(execFile)(python, [checker, command, path.join(cwd, file)], {
    cwd,
    env: { ...process.env, ANONYMIZED_TELEMETRY: 'False' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T & { refused?: string };
}

const generate = (args: string[]) => runCli(['generate', ...args], { cwd, env });
const lines = (file: string) => readJsonl(path.join(cwd, file));

const configNamed = (name: string) => configs.find(([n]) => n === name)![1];

/** The DeepFabric 4.x configs this test runs, the file each writes, and the keys DeepFabric 4.13 writes for that kind of record. */
const runs: { name: string; yaml: string; out: string; keys: string[]; toolsUsedOnly?: boolean }[] = [
  {
    name: 'basic, tree topics',
    yaml: configNamed('tree topics, one top-level llm'),
    out: 'tree.jsonl',
    keys: ['final_answer', 'messages', 'metadata', 'metadata.topic_id', 'question'],
  },
  {
    name: 'basic, graph topics',
    yaml: configNamed('graph topics with prompt_style'),
    out: 'graph.jsonl',
    keys: ['final_answer', 'messages', 'metadata', 'metadata.topic_id', 'question'],
  },
  {
    name: 'cot freetext',
    yaml: configNamed('cot with freetext reasoning'),
    out: 'cot.jsonl',
    keys: ['final_answer', 'messages', 'metadata', 'metadata.topic_id', 'question', 'reasoning', 'reasoning.content', 'reasoning.style'],
  },
  {
    name: 'cot agent without tools',
    yaml: `llm: { provider: openai, model: gpt-4o-mini }
topics: { prompt: "Planning a trip", depth: 1, degree: 2 }
generation:
  system_prompt: "You write reasoning traces."
  conversation: { type: cot, reasoning_style: agent }
output:
  num_samples: 2
  batch_size: 2
  save_as: cot-agent.jsonl
`,
    out: 'cot-agent.jsonl',
    keys: ['final_answer', 'messages', 'metadata', 'metadata.topic_id', 'question', 'reasoning', 'reasoning.content', 'reasoning.style'],
  },
  {
    name: 'agent with builtin and custom tools',
    yaml: configNamed('an agent with tools'),
    out: 'agent.jsonl',
    keys: [
      'agent_context',
      'agent_context.mode',
      'final_answer',
      'messages',
      'metadata',
      'metadata.conversation_type',
      'metadata.react_steps',
      'metadata.topic_id',
      'question',
      'reasoning',
      'tool_context',
      'tool_context.executions',
      'tools',
    ],
    toolsUsedOnly: true,
  },
];

beforeAll(async () => {
  llm = await new LlmTestServer().start();
  llm.configure({ respond: agentModel });
  env = {
    TEMPORAL_ADDRESS: temporalAddress(),
    DEEPFABRIC_TASK_QUEUE: uniqueTaskQueue('conformance'),
    DEEPFABRIC_DATA_DIR: path.join(cwd, 'data'),
    OPENAI_API_KEY: 'k',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
  };
  worker = await spawnWorkerProcess(env.DEEPFABRIC_TASK_QUEUE!, env);
  for (const r of runs) {
    const file = `${r.name.replace(/\W+/g, '-')}.yaml`;
    writeFileSync(path.join(cwd, file), r.yaml);
    const out = await generate([file]);
    if (out.code !== 0) throw new Error(`generate ${file} exited ${out.code}:\n${out.stderr}`);
  }
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await llm?.stop();
});

describe.each(runs)('records of $name', ({ out, keys, toolsUsedOnly }) => {
  it("every record validates with DeepFabric 4.13's Conversation and carries the keys DeepFabric writes", async () => {
    const verdict = await deepfabric<{ records: number; valid: number; errors: unknown[]; keys: string[]; toolsUsedOnly: boolean }>('records', out);
    expect(verdict.refused).toBeUndefined();
    expect(verdict.errors).toEqual([]);
    expect(verdict.records).toBe(lines(out).length);
    expect(verdict.valid).toBe(verdict.records);
    // The keys every record has, as DeepFabric 4.13 writes them for this kind of record (DEEPFABRIC-NOTES.md).
    expect(verdict.keys).toEqual(expect.arrayContaining(keys));
    if (toolsUsedOnly) expect(verdict.toolsUsedOnly).toBe(true);
  });
});

it("a tree this project saved loads in DeepFabric with the same paths, and the records' topic ids are DeepFabric's ids of those paths", async () => {
  const ours = await loadTopicModel(path.join(cwd, 'tree-topics.jsonl'));
  const theirs = await deepfabric<{ paths: string[][]; topicIds: string[] }>('load-tree', 'tree-topics.jsonl');
  expect(theirs.refused).toBeUndefined();
  expect(theirs.paths).toEqual(ours.getAllPaths());
  expect(theirs.topicIds).toEqual(ours.getAllPaths().map(topicId));
  const recordIds = lines('tree.jsonl').map((r) => (r.metadata as { topic_id: string }).topic_id);
  expect(recordIds.length).toBeGreaterThan(0);
  for (const id of recordIds) expect(theirs.topicIds).toContain(id);
});

it('a graph this project saved loads in DeepFabric (GraphModel): same paths, node ids stable across loads, topic hashes of the topics', async () => {
  const ours = await loadTopicModel(path.join(cwd, 'graph-topics.json'));
  const theirs = await deepfabric<{ paths: string[][]; stableIds: boolean; topicHashes: Record<string, string>; uuids: Record<string, string> }>(
    'load-graph',
    'graph-topics.json',
  );
  expect(theirs.refused).toBeUndefined();
  expect([...theirs.paths].sort()).toEqual([...ours.getAllPaths()].sort());
  expect(theirs.stableIds).toBe(true);
  const file = JSON.parse(readFileSync(path.join(cwd, 'graph-topics.json'), 'utf8')) as {
    nodes: Record<string, { topic: string; metadata: { uuid: string } }>;
  };
  for (const [id, node] of Object.entries(file.nodes)) {
    expect(theirs.uuids[id]).toBe(node.metadata.uuid);
    expect(theirs.topicHashes[id]).toBe(createHash('sha256').update(node.topic).digest('hex'));
  }
});

it("a tree and a graph written by DeepFabric's own classes load here with DeepFabric's paths and topic ids", async () => {
  const tree = await deepfabric<{ paths: string[][]; topicIds: string[] }>('write-tree', 'df-tree.jsonl');
  expect(tree.refused).toBeUndefined();
  const ourTree = await loadTopicModel(path.join(cwd, 'df-tree.jsonl'));
  expect(ourTree.getAllPaths()).toEqual(tree.paths);
  // Non-ASCII and astral characters included: ids hash Python's json.dumps of the path.
  expect(tree.paths.flat().some((t) => [...t].some((ch) => ch.codePointAt(0)! > 0x7f))).toBe(true);
  expect(ourTree.getAllPaths().map(topicId)).toEqual(tree.topicIds);

  const graph = await deepfabric<{ paths: string[][] }>('write-graph', 'df-graph.json');
  expect(graph.refused).toBeUndefined();
  const ourGraph = await loadTopicModel(path.join(cwd, 'df-graph.json'));
  expect([...ourGraph.getAllPaths()].sort()).toEqual([...graph.paths].sort());
  // Saved again here, DeepFabric loads it with the same node uuids (ids survive the round trip).
  await ourGraph.save(path.join(cwd, 'df-graph-resaved.json'));
  const again = await deepfabric<{ uuids: Record<string, string> }>('load-graph', 'df-graph-resaved.json');
  const first = await deepfabric<{ uuids: Record<string, string> }>('load-graph', 'df-graph.json');
  expect(again.refused).toBeUndefined();
  expect(again.uuids).toEqual(first.uuids);
});

it("every option of DeepFabric 4.13's own `generate --help` is an option of `deepfabric generate` here", async () => {
  const options = (text: string) => new Set(text.match(/--[a-z][a-z-]+/g) ?? []);
  const dfBin = path.join(path.dirname(python!), 'deepfabric');
  const theirs = options(
    (await promisify(execFile)(dfBin, ['generate', '--help'], { cwd, env: { ...process.env, ANONYMIZED_TELEMETRY: 'False', COLUMNS: '200' } })).stdout,
  );
  const ours = options((await runCli(['generate', '--help'], { cwd, env: { COLUMNS: '200' } })).stdout);
  expect(theirs.size).toBeGreaterThanOrEqual(28);
  expect([...theirs].filter((o) => !ours.has(o))).toEqual([]);
});
