/**
 * Conformance with DeepFabric 4.13, judged by DeepFabric's own code (issue 19): DeepFabric 4.x
 * configs in their documented form run through this project's CLI against the local model server;
 * then DeepFabric 4.13.0 (PyPI, in the venv of scripts/ensure-deepfabric.sh) validates every record
 * with its `Conversation` model and loads the topic files with its loaders, this project loads the
 * tree and graph files DeepFabric's own classes write, DeepFabric's own `generate` runs the same
 * configs against the same server (record keys and topic ids compared), its `topic inspect` and
 * `topic prune` run beside this project's, and DeepFabric 3.13's formatters format the same records
 * as this project's formats of the same names. `npm run test:conformance`.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { topicId } from '../../src/topics/deepfabric-ids';
import { loadTopicModel } from '../../src/topics/topic-model-file';
import { FORMATTERS, SAMPLE_RECORDS } from '../../src/dataset/formatters';
import { readJsonl, runCli } from '../support/cli';
import { agentModel, configs } from '../support/deepfabric-configs';
import { LlmTestServer } from '../support/llm-server';
import { spinVfs } from '../support/spin-vfs';
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
  // The examples go to the nodes but the root, in node order, each record's topic id that node's uuid as DeepFabric reads it;
  // num_samples: auto is one example per root-to-leaf path (DeepFabric 4.13's count), wrapping around the nodes.
  const rootId = String((JSON.parse(readFileSync(path.join(cwd, 'graph-topics.json'), 'utf8')) as { root_id: number }).root_id);
  const nodeUuids = Object.entries(theirs.uuids)
    .filter(([id]) => id !== rootId)
    .map(([, uuid]) => uuid);
  const recordIds = lines('graph.jsonl').map((r) => (r.metadata as { topic_id: string }).topic_id);
  expect(recordIds).toEqual(ours.getAllPaths().map((_, k) => nodeUuids[k % nodeUuids.length]));
  // Inner nodes are topics too (DeepFabric's get_unique_topics), not only the leaves of paths.
  const inner = Object.values(file.nodes).filter(
    (n) => (n as unknown as { children: number[] }).children.length > 0 && String((n as unknown as { id: number }).id) !== rootId,
  );
  expect(inner.length).toBeGreaterThan(0);
  expect(recordIds).toContain(inner[0]!.metadata.uuid);
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

it("formats named as DeepFabric 3.x's write what DeepFabric 3.13's own formatters write for the same records, and refuse only what they skip", async () => {
  const root = process.env.DEEPFABRIC3_ROOT;
  if (!root) throw new Error("DEEPFABRIC3_ROOT is not set: run `npm run test:conformance` (it fetches DeepFabric 3.13's wheel)");
  const shared = ['alpaca', 'chatml', 'chatml_text', 'conversations', 'harmony', 'openai', 'tool_calling', 'single_tool_call', 'xlam_v2'];
  // The records this test's runs wrote (every record type), the sample record of each conversation type, and one with non-ASCII arguments and reflowed reasoning.
  const written = runs.flatMap((r) => lines(r.out).slice(0, 3));
  const odd = structuredClone(SAMPLE_RECORDS.agent) as Record<string, unknown> & { tool_context: { executions: { arguments: string }[] } };
  odd.tool_context.executions[0]!.arguments = '{"k": "Zürich 😀", "n": 3, "f": 2.5, "l": [true, "x"]}';
  odd.reasoning = { style: 'agent', content: [{ step_number: 1, thought: 'Line one.\n\nLine  two.', action: 'N1' }] };
  const records = [...written, ...Object.values(SAMPLE_RECORDS), odd];
  const cases = shared.flatMap((format) => records.map((record) => ({ format, record })));
  const file = path.join(cwd, 'format-cases.json');
  writeFileSync(file, JSON.stringify(cases));
  const { stdout } = await promisify(execFile)(python!, [path.join(__dirname, 'deepfabric3_formats.py'), root, file], { cwd, maxBuffer: 256 * 1024 * 1024 });
  const theirs = JSON.parse(stdout) as ({ output: Record<string, unknown> } | { skipped: string })[];
  expect(theirs).toHaveLength(cases.length);
  const compared = new Map<string, number>();
  cases.forEach(({ format, record }, i) => {
    const ref = theirs[i]!;
    let ours: Record<string, unknown> | Error;
    try {
      ours = FORMATTERS[format]!(record);
    } catch (err) {
      ours = err as Error;
    }
    if ('output' in ref) {
      // DeepFabric formatted it: the same output, key for key.
      expect({ format, i, ours }).toEqual({ format, i, ours: ref.output });
      compared.set(format, (compared.get(format) ?? 0) + 1);
    } else if (ours instanceof Error) {
      // Refused here only where DeepFabric skips it too, and never for another reason.
      expect({ format, i, error: ours.name }).toEqual({ format, i, error: 'FormatSkipError' });
    }
  });
  // Every shared format was compared on records this project wrote (not only on samples).
  for (const format of shared) expect({ format, compared: (compared.get(format) ?? 0) > 0 }).toEqual({ format, compared: true });
  const fromRuns = cases.filter((c, i) => 'output' in theirs[i]! && written.includes(c.record)).length;
  expect(fromRuns).toBeGreaterThan(written.length);
});

/** DeepFabric 4.13's own CLI, in the venv. */
async function deepfabricCli(args: string[]): Promise<string> {
  const dfBin = path.join(path.dirname(python!), 'deepfabric');
  const env = { ...process.env, ANONYMIZED_TELEMETRY: 'False', COLUMNS: '400', NO_COLOR: '1', TERM: 'dumb' };
  return (await promisify(execFile)(dfBin, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

it("topic inspect --format json prints DeepFabric 4.13's keys and values for its own and this project's trees and graphs", async () => {
  // Every form on one file of each kind (this project's graph, DeepFabric's tree); the fullest form on the other two (DeepFabric's CLI takes seconds a call).
  const variants = [[], ['--level', '1'], ['--level', '1', '--expand'], ['--level', '1', '--expand', '1', '--all']];
  const cases = [
    ...variants.map((v) => ['graph-topics.json', v] as const),
    ...variants.map((v) => ['df-tree.jsonl', v] as const),
    ['tree-topics.jsonl', variants[3]!] as const,
    ['df-graph.json', variants[3]!] as const,
  ];
  let compared = 0;
  for (const [file, v] of cases) {
    const args = ['topic', 'inspect', file, '--format', 'json', ...v];
    const theirs = JSON.parse(await deepfabricCli(args)) as Record<string, unknown>;
    const ours = await runCli(args, { cwd, env: {} });
    expect({ args, code: ours.code }).toEqual({ args, code: 0 });
    expect({ args, out: JSON.parse(ours.stdout) as unknown }).toEqual({ args, out: theirs });
    compared++;
  }
  expect(compared).toBe(10);
});

it('topic prune on a graph writes the graph DeepFabric 4.13 writes (by level and by uuid), and DeepFabric loads it', async () => {
  const nodesOf = (file: string) => {
    const g = JSON.parse(readFileSync(path.join(cwd, file), 'utf8')) as {
      nodes: Record<string, { topic: string; children: number[]; parents: number[]; metadata: { uuid: string } }>;
    };
    return Object.fromEntries(
      Object.entries(g.nodes).map(([id, n]) => [
        id,
        { topic: n.topic, children: [...n.children].sort(), parents: [...n.parents].sort(), uuid: n.metadata.uuid },
      ]),
    );
  };
  const graph = JSON.parse(readFileSync(path.join(cwd, 'df-graph.json'), 'utf8')) as {
    root_id: number;
    nodes: Record<string, { children: number[]; metadata: { uuid: string } }>;
  };
  const firstChild = graph.nodes[String(graph.nodes[String(graph.root_id)]!.children[0])]!.metadata.uuid;
  for (const [how, theirsOut, oursOut] of [
    [['--level', '1'], 'df-pruned-theirs.json', 'df-pruned-ours.json'],
    [['--uuid', firstChild], 'df-subtree-theirs.json', 'df-subtree-ours.json'],
  ] as const) {
    await deepfabricCli(['topic', 'prune', 'df-graph.json', ...how, '-o', theirsOut]);
    const ours = await runCli(['topic', 'prune', 'df-graph.json', ...how, '-o', oursOut], { cwd, env: {} });
    expect({ how, code: ours.code, stderr: ours.stderr }).toEqual({ how, code: 0, stderr: '' });
    expect(nodesOf(oursOut)).toEqual(nodesOf(theirsOut));
    expect(Object.keys(nodesOf(oursOut)).length).toBeLessThan(Object.keys(graph.nodes).length);
    const loaded = await deepfabric<{ paths: string[][] }>('load-graph', oursOut);
    expect(loaded.refused).toBeUndefined();
    expect([...loaded.paths].sort()).toEqual([...(await loadTopicModel(path.join(cwd, oursOut))).getAllPaths()].sort());
  }
});

/** A record's key paths: nested objects' keys and the keys of objects in arrays (`messages[].role`); not inside reasoning steps (see below). */
function keyPaths(value: unknown, at = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keyPaths(v, `${at}[]`, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      const here = at ? `${at}.${k}` : k;
      out.add(here);
      // A reasoning's content is a text or a list of steps by its style, which the local server picks (its enum's first value) for DeepFabric.
      if (here !== 'reasoning.content') keyPaths(v, here, out);
    }
  return out;
}
const keysOfFile = (file: string) => [...new Set(readJsonl(file).flatMap((r) => [...keyPaths(r)]))].sort();

it("record keys equal DeepFabric 4.13's own run of the same configs against the same local server, key by key; on the same topic files, the same topic ids as often", async () => {
  // The local server as a model answers DeepFabric's pydantic schemas ($defs/$ref, OpenAI strict mode):
  // optional parts left null except a reasoning the prompt asks for, two items per list, no graph cross-links, no tool calls.
  llm.configure({
    respond: undefined,
    optionalAsNull: (field, prompt) => !(field === 'reasoning' && /reason/i.test(prompt)),
    minArrayItems: 2,
    emptyArrays: ['tool_calls', 'connections'],
  });
  const live = path.join(cwd, 'deepfabric-live');
  mkdirSync(live, { recursive: true });
  const env = { ...process.env, ANONYMIZED_TELEMETRY: 'False', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: llm.openaiBaseUrl, COLUMNS: '200', NO_COLOR: '1' };
  const dfBin = path.join(path.dirname(python!), 'deepfabric');
  // The agent with tools comes last, with a Spin service and a scripted model (below).
  const compared = runs.filter((r) => !r.toolsUsedOnly);
  for (const r of compared) {
    const file = path.join(live, `${r.name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, r.yaml);
    // The tree and graph runs read this project's topic files, so both tools sample the same topics.
    const topicsFile = r.out === 'tree.jsonl' ? 'tree-topics.jsonl' : r.out === 'graph.jsonl' ? 'graph-topics.json' : undefined;
    const load = topicsFile ? ['--topics-load', path.join(cwd, topicsFile)] : [];
    const { stdout, stderr } = await promisify(execFile)(dfBin, ['generate', file, '--tui', 'simple', ...load], {
      cwd: live,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const theirs = path.join(live, r.out);
    expect({ run: r.name, written: existsSync(theirs), log: existsSync(theirs) ? '' : `${stdout}\n${stderr}` }).toEqual({
      run: r.name,
      written: true,
      log: '',
    });
    expect(readJsonl(theirs).length).toBeGreaterThan(0);
    expect({ run: r.name, keys: keysOfFile(path.join(cwd, r.out)) }).toEqual({ run: r.name, keys: keysOfFile(theirs) });
    if (topicsFile) {
      // As multisets: DeepFabric writes the samples of one concurrent batch in the order they finish.
      const ids = (f: string) =>
        readJsonl(f)
          .map((x) => (x.metadata as { topic_id: string }).topic_id)
          .sort();
      expect({ run: r.name, ids: ids(path.join(cwd, r.out)) }).toEqual({ run: r.name, ids: ids(theirs) });
    }
  }
  expect(compared.length).toBe(4);

  // Custom records (generation.output_schema, output.format custom): the schema's objects, nothing added.
  const customYaml = `llm: { provider: openai, model: gpt-4o-mini }
topics: { prompt: "Geography", mode: tree, depth: 1, degree: 2 }
generation:
  system_prompt: "Write quiz items."
  output_schema:
    type: object
    properties:
      question: { type: string }
      answer: { type: string }
      difficulty: { type: string, enum: [easy, medium, hard] }
      tags: { type: array, items: { type: string } }
    required: [question, answer, difficulty, tags]
output:
  format: custom
  num_samples: 2
  batch_size: 1
  save_as: custom.jsonl
`;
  writeFileSync(path.join(cwd, 'custom.yaml'), customYaml);
  writeFileSync(path.join(live, 'custom.yaml'), customYaml);
  const ours = await generate(['custom.yaml']);
  expect({ code: ours.code, stderr: ours.code === 0 ? '' : ours.stderr }).toEqual({ code: 0, stderr: '' });
  expect(keysOfFile(path.join(cwd, 'custom.jsonl'))).toEqual(['answer', 'difficulty', 'question', 'tags']);
  expect(lines('custom.jsonl')).toHaveLength(2);
  // DeepFabric 4.13 itself cannot write them with provider openai: outlines refuses its DynamicModel
  // ("not available with OpenAI"), every sample fails. Measured here so a fixed release shows up.
  await promisify(execFile)(dfBin, ['generate', 'custom.yaml', '--tui', 'simple'], { cwd: live, env, maxBuffer: 64 * 1024 * 1024 });
  expect(readFileSync(path.join(live, 'custom.jsonl'), 'utf8').trim()).toBe('');
  const failures = readdirSync(live).filter((f) => f.startsWith('custom_failures_'));
  expect(failures).toHaveLength(1);
  expect(readFileSync(path.join(live, failures[0]!), 'utf8')).toContain('The type `DynamicModel` is not available with OpenAI');

  // An agent with tools: DeepFabric executes tools only through Spin, so both tools run against the same Spin VFS
  // (scenario_seed written into each example's session) and a model that reads the seeded file, then answers.
  const spin = await spinVfs();
  try {
    llm.configure({
      respond: ({ prompt, schema }) => {
        const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
        if (!('is_final' in props)) return undefined;
        if (!('question' in props)) {
          // DeepFabric's AgentStep: one read, then done once the file's text is in the prompt.
          if (prompt.includes('buy milk')) return { thought: 'The notes say buy milk.', tool_calls: [], is_final: true };
          return {
            thought: 'Read the notes first.',
            tool_calls: [{ function_name: 'read_file', arguments: '{"file_path": "notes.txt"}', reasoning: 'see the notes' }],
            is_final: false,
          };
        }
        // This project's agent step.
        const step = Number(/Give step (\d+)|Step (\d+) is the last/.exec(prompt)?.slice(1).find(Boolean) ?? 1);
        // Distinct per topic, or exact dedup would keep one.
        const topic = /Topic: (.*)/.exec(prompt)?.[1] ?? '';
        const base = { question: '', thought: `step ${step} (${topic})`, tool_calls: [], is_final: false, final_answer: '' };
        if (step === 1)
          return {
            ...base,
            question: 'What do my notes say?',
            tool_calls: [{ function_name: 'read_file', arguments_json: '{"file_path":"notes.txt"}', reasoning: 'see the notes' }],
          };
        return { ...base, thought: `The notes say buy milk (${topic}).`, is_final: true, final_answer: `On ${topic}, they say: buy milk.` };
      },
    });
    const agentYaml = `llm: { provider: openai, model: gpt-4o-mini }
topics: { prompt: "File operations", mode: tree, depth: 1, degree: 2 }
generation:
  system_prompt: "You write agent traces."
  conversation: { type: cot, reasoning_style: agent }
  tools:
    spin_endpoint: "${spin.endpoint}"
    components: { builtin: [read_file, write_file] }
    scenario_seed: { files: { "notes.txt": "buy milk" } }
    max_per_query: 3
    max_agent_steps: 4
output: { num_samples: 2, batch_size: 1, save_as: agent-spin.jsonl }
`;
    writeFileSync(path.join(cwd, 'agent-spin.yaml'), agentYaml);
    writeFileSync(path.join(live, 'agent-spin.yaml'), agentYaml);
    const oursAgent = await generate(['agent-spin.yaml']);
    expect({ code: oursAgent.code, stderr: oursAgent.code === 0 ? '' : oursAgent.stderr }).toEqual({ code: 0, stderr: '' });
    await promisify(execFile)(dfBin, ['generate', 'agent-spin.yaml', '--tui', 'simple'], { cwd: live, env, maxBuffer: 64 * 1024 * 1024 });
    const theirsAgent = readJsonl(path.join(live, 'agent-spin.jsonl'));
    expect(theirsAgent.length).toBeGreaterThan(0);
    // Both read the seeded file through Spin and recorded its text as the result.
    for (const r of [...theirsAgent, ...lines('agent-spin.jsonl')])
      expect((r.tool_context as { executions: { result: string }[] }).executions.map((e) => e.result)).toEqual(['buy milk']);
    expect(keysOfFile(path.join(cwd, 'agent-spin.jsonl'))).toEqual(keysOfFile(path.join(live, 'agent-spin.jsonl')));
  } finally {
    spin.close();
  }
});
