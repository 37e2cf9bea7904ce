/**
 * DeepFabric 4.x configs in their documented form run unchanged through `deepfabric generate`
 * (issue 12): per-stage llm blocks (topics on gemini, generation on openai), tree and graph topics,
 * cot with freetext reasoning, an agent with tools, the integration sections; and the flags that
 * override the file (`--num-samples 12 --model openai/other`), checked at the LLM server and in the manifest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordSchemas } from '../../src/dataset/example-schemas';
import { hubRow } from '../../src/dataset/hub-upload';
import { readJsonl } from '../support/cli';
import { agentModel, configs } from '../support/deepfabric-configs';
import { startHubServer, type HubServer } from '../support/hub-server';
import { LlmTestServer } from '../support/llm-server';
import { temporalAddress, uniqueTaskQueue } from '../support/temporal';

const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'deepfabric.js');

let llm: LlmTestServer;
let hub: HubServer;
const HF_TOKEN = 'hf_df4SuiteToken';
const ANTHROPIC_KEY = 'sk-ant-df4-suite-secret';
let worker: ChildProcess;
let env: Record<string, string>;
const cwd = mkdtempSync(path.join(os.tmpdir(), 'df4-'));

beforeAll(async () => {
  llm = await new LlmTestServer().start();
  hub = await startHubServer({ token: HF_TOKEN, lfsThreshold: 512 });
  const taskQueue = uniqueTaskQueue('df4');
  env = {
    TEMPORAL_ADDRESS: temporalAddress(),
    DEEPFABRIC_TASK_QUEUE: taskQueue,
    DEEPFABRIC_DATA_DIR: path.join(cwd, 'data'),
    OPENAI_API_KEY: 'k',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    // Gemini speaks OpenAI's protocol; its key may be in GOOGLE_API_KEY, as DeepFabric reads it.
    GOOGLE_API_KEY: 'g',
    GEMINI_BASE_URL: llm.openaiBaseUrl,
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    // The huggingface section pushes to a local Hub (the endpoints @huggingface/hub calls).
    HF_TOKEN,
    HF_ENDPOINT: hub.url,
    ANTHROPIC_BASE_URL: llm.anthropicBaseUrl,
  };
  worker = spawn(process.execPath, [bin, 'worker'], { cwd, env: { ...process.env, ...env } });
  await new Promise<void>((resolve, reject) => {
    worker.stderr!.on('data', (d: Buffer) => d.toString().includes('worker polling') && resolve());
    worker.once('exit', (c) => reject(new Error(`deepfabric worker exited with ${c}`)));
  });
});
afterAll(async () => {
  worker.kill('SIGKILL');
  await llm.stop();
  await hub.close();
});
beforeEach(() => {
  llm.reset();
  llm.configure({ respond: agentModel });
});

function generate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'generate', ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (file: string) => readJsonl(path.join(cwd, file));

describe.each(configs)('a DeepFabric 4.x config: %s', (name, yaml, type, warned) => {
  it('runs unchanged and writes records of its conversation type', async () => {
    const file = `${name.replace(/\W+/g, '-')}.yaml`;
    writeFileSync(path.join(cwd, file), yaml);
    const r = await generate([file]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const saveAs = /save_as: (\S+\.jsonl)\n(?!\s*(depth|degree))/.exec(yaml.split('output:')[1]!)![1]!;
    const records = lines(saveAs);
    expect(records.length).toBeGreaterThan(0);
    for (const rec of records) expect(RecordSchemas[type].safeParse(rec).success).toBe(true);
    expect(r.stdout).toMatch(new RegExp(`completed: ${records.length} records`));
    // Each DeepFabric key without an effect here got exactly one warning line naming it.
    for (const key of warned) expect(r.stderr.split('\n').filter((l) => l.startsWith(`warning: ${key}`))).toHaveLength(1);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toHaveLength(warned.length);
  });
});

it('the agent config: tool results come from executing the tools (seeded file system, mock_response), not from the model', async () => {
  const records = lines('agent.jsonl');
  expect(records).toHaveLength(2);
  for (const rec of records) {
    const executions = (rec.tool_context as { executions: { function_name: string; arguments: string; result: string }[] }).executions;
    expect(executions.map((e) => [e.function_name, e.result])).toEqual([
      ['read_file', 'buy milk'],
      ['write_file', 'Wrote 8 bytes to copy.txt'],
      ['get_time', 'It is noon in UTC'],
    ]);
    const messages = rec.messages as { role: string; content: string; tool_call_id?: string; tool_calls?: { id: string }[] }[];
    expect(messages.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual(executions.map((e) => e.result));
    const ids = messages.flatMap((m) => m.tool_calls?.map((c) => c.id) ?? []);
    expect(messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)).toEqual(ids);
    expect(messages.at(-1)).toEqual({ role: 'assistant', content: 'Copied "buy milk" to copy.txt.' });
    expect((rec.reasoning as { style: string; content: unknown[] }).content).toHaveLength(3);
    expect((rec.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual(['read_file', 'write_file', 'get_time']);
  }
});

it("the tree config: output.system_prompt is the records' system message; batch_size is parallel one-sample calls", async () => {
  const r = await generate(['tree-topics-one-top-level-llm.yaml', '--run-id', 'tree-again']);
  expect(r.code).toBe(0);
  const records = lines('tree.jsonl');
  expect(records).toHaveLength(4);
  for (const rec of records)
    expect((rec.messages as { role: string; content: string }[])[0]).toEqual({ role: 'system', content: 'You are a helpful Python tutor.' });
  // One example per call (DeepFabric's meaning), the generator's own system prompt sent to the model.
  const generation = llm.calls.filter((c) => c.batch?.startsWith('tree-again/'));
  expect(generation).toHaveLength(4);
  for (const c of generation) expect(c.prompt).toMatch(/Generate exactly 1 /);
});

it('per-stage models: the topic calls go to gemini-2.5-flash, the generation calls to gpt-4o-mini', async () => {
  const r = await generate(['per-stage-llm-topics-on-gemini-generation-on-openai.yaml', '--run-id', 'stages-again', '--topics-save-as', 'stage-topics.jsonl']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const models = new Set(llm.calls.filter((c) => c.batch?.startsWith('stages-again/')).map((c) => c.model));
  expect(models).toEqual(new Set(['gpt-4o-mini']));
  // The topics were built before (same build id): a new save_as copies them without calls; a fresh build shows gemini.
  const built = await generate([
    'per-stage-llm-topics-on-gemini-generation-on-openai.yaml',
    '--topic-only',
    '--mode',
    'tree', // the file has no mode: DeepFabric's default graph could add cross-linked paths; a tree of 3 x 3 has 9
    '--depth',
    '2',
    '--topics-save-as',
    'stage-topics-2.jsonl',
  ]);
  expect({ code: built.code, stderr: built.code === 0 ? '' : built.stderr }).toEqual({ code: 0, stderr: '' });
  expect(built.stdout).toMatch(/topics: 9 paths .*--topic-only/);
  const topicModels = new Set(llm.calls.filter((c) => !c.batch?.startsWith('stages-again/')).map((c) => c.model));
  expect(topicModels).toEqual(new Set(['gemini-2.5-flash']));
});

it('generate --num-samples 12 --model openai/other overrides the file, at the LLM server and in the manifest', async () => {
  const r = await generate([
    'tree-topics-one-top-level-llm.yaml',
    '--num-samples',
    '12',
    '--model',
    'openai/other',
    '--output-save-as',
    'override.jsonl',
    '--run-id',
    'override',
  ]);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(lines('override.jsonl')).toHaveLength(12);
  const calls = llm.calls.filter((c) => c.batch?.startsWith('override/'));
  expect(calls).toHaveLength(12);
  expect(new Set(calls.map((c) => c.model))).toEqual(new Set(['other']));
  const manifestPath = /manifest: (\S+)/.exec(r.stdout)![1]!;
  expect(JSON.parse(readFileSync(manifestPath, 'utf8'))).toMatchObject({ model: 'openai/other', records: 12 });
});

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env, ...extraEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

it('validate --check-api makes one call per stage model; a bad key fails it; a lossy format is refused; topic inspect, prune and an SVG drawing; --version and info answer', async () => {
  const file = 'per-stage-llm-topics-on-gemini-generation-on-openai.yaml';
  const ok = await cli(['validate', file, '--check-api']);
  // No topics.mode in the file: DeepFabric's default, a graph.
  expect(ok.stdout).toMatch(/is valid\n {2}topics: a graph built from "Cooking" .* with gemini-2\.5-flash\n/);
  expect(ok.stdout).toMatch(/generation: openai\/gpt-4o-mini answered \(\d+ tokens\)\n {2}topics: gemini\/gemini-2\.5-flash answered/);
  expect(ok.code).toBe(0);
  expect(llm.calls.map((c) => c.model).sort()).toEqual(['gemini-2.5-flash', 'gpt-4o-mini']);

  llm.configure({ acceptKey: 'the-right-key' });
  const refused = await cli(['validate', file, '--check-api']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/error: generation: openai\/gpt-4o-mini: .*(401|key)/i);

  writeFileSync(
    path.join(cwd, 'lossy.yaml'),
    readFileSync(path.join(cwd, 'an-agent-with-tools.yaml'), 'utf8').replace('save_as: agent.jsonl', 'save_as: agent.jsonl\n  format: alpaca'),
  );
  const lossy = await cli(['validate', 'lossy.yaml']);
  expect(lossy.code).toBe(2);
  expect(lossy.stderr).toMatch(
    /output\.format: agent records: format "alpaca" cannot carry .*formats that carry every field: trl; or name what may go: --drop /,
  );

  const inspect = await cli(['topic', 'inspect', path.join(root, 'test', 'fixtures', 'deepfabric-tree.jsonl')]);
  expect(inspect.stdout).toMatch(/: 4 paths, depth 2\ntopics per level: 0: 1, 1: 2, 2: 4\n/);
  const pruned = await cli(['topic', 'prune', path.join(root, 'test', 'fixtures', 'deepfabric-tree.jsonl'), '--level', '1', '--out', 'pruned.jsonl']);
  expect(pruned.stdout).toMatch(/^2 of 4 paths written to /);
  expect(lines('pruned.jsonl').map((l) => (l.path as string[]).length)).toEqual([2, 2]);

  const drawn = await cli(['visualize', path.join(root, 'test', 'fixtures', 'deepfabric-graph.json'), '--output', 'graph-drawing']);
  expect(drawn.stdout).toMatch(/wrote .*graph-drawing\.svg/);
  const svg = readFileSync(path.join(cwd, 'graph-drawing.svg'), 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(1);

  const version = await cli(['--version']);
  expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  const info = await cli(['info'], { GROQ_API_KEY: 'secret-groq-key' });
  expect(info.stdout).toMatch(/groq +key GROQ_API_KEY: set/);
  expect(info.stdout).not.toContain('secret-groq-key');
});

it('the huggingface section pushed the completed dataset and a card to the Hub; upload-hf pushes a file; no key or token in what was sent', async () => {
  // Pushed by the `a huggingface section and a checkpoint` config above (it ran before this test).
  const repo = hub.repos.get('someone/geography');
  expect(repo && [...repo.keys()].sort()).toEqual(['README.md', 'data/train.jsonl']);
  const pushed = repo!
    .get('data/train.jsonl')!
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  // The records as the Hub stores them: nested objects (metadata.topic_id) as JSON strings, one column type per field.
  expect(pushed).toEqual(lines('hf.jsonl').map(hubRow));
  expect(pushed.every((r: { metadata?: unknown }) => typeof r.metadata === 'string')).toBe(true);
  const card = repo!.get('README.md')!.toString('utf8');
  expect(card).toMatch(/^---\ntags:\n- "deepfabric"\n- "synthetic"\nsize_categories:\n- n<1K\nsource_models:\n- "claude-3-5-haiku-latest"\n/);
  expect(card).toContain('| provider | anthropic |');
  expect(card).toContain('| topic prompt | Geography |');
  expect(card).toMatch(/\| tokens in \/ out \| [1-9]\d* \/ [1-9]\d* \|/);

  const again = await cli(['upload-hf', 'hf.jsonl', '--repo', 'someone/geo-copy', '--tags', 'geo', '--config', 'a-huggingface-section-and-a-checkpoint.yaml']);
  expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
  expect(again.stdout).toMatch(/^pushed \d+ records and a dataset card to http:\/\/127\.0\.0\.1:\d+\/datasets\/someone\/geo-copy\n/);
  expect(hub.repos.get('someone/geo-copy')!.get('README.md')!.toString('utf8')).toContain('- "geo"');

  const sent = hub.requests.map((r) => r.body).join('\n');
  for (const secret of [HF_TOKEN, ANTHROPIC_KEY, hub.url, llm.anthropicBaseUrl]) expect(sent.includes(secret) ? secret : 'absent').toBe('absent');

  const noToken = await cli(['upload-hf', 'hf.jsonl', '--repo', 'someone/geo-copy'], { HF_TOKEN: '' });
  expect(noToken.code).toBe(2);
  expect(noToken.stderr).toMatch(/error: HF_TOKEN: not set; create a write token/);
});

it('an agent example whose step fails resumes at that step on the retry: the steps already done are not paid again', async () => {
  writeFileSync(
    path.join(cwd, 'agent-retry.yaml'),
    readFileSync(path.join(cwd, 'an-agent-with-tools.yaml'), 'utf8')
      .replace('topics: { prompt: "File operations", depth: 1, degree: 2 }', 'topics: { paths: [[Files, Copying]] }')
      .replace('num_samples: 2', 'num_samples: 1')
      .replace('save_as: agent.jsonl', 'save_as: agent-retry.jsonl'),
  );
  llm.configure({ script: ['ok', '500'] });
  const r = await generate(['agent-retry.yaml', '--run-id', 'agent-retry']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const calls = llm.calls.filter((c) => c.batch?.startsWith('agent-retry/'));
  const stepOf = (prompt: string) => /Give step (\d+)|Step (\d+) is the last/.exec(prompt)!.slice(1).find(Boolean);
  expect(calls.map((c) => [stepOf(c.prompt), c.outcome])).toEqual([
    ['1', 'ok'],
    ['2', '500'],
    ['2', 'ok'],
    ['3', 'ok'],
  ]);
  const [rec] = lines('agent-retry.jsonl');
  expect((rec!.tool_context as { executions: { result: string }[] }).executions.map((e) => e.result)).toEqual([
    'buy milk',
    'Wrote 8 bytes to copy.txt',
    'It is noon in UTC',
  ]);
});

it('a null optional tool argument is asked again, as DeepFabric does, and never reaches a record (counted at the server)', async () => {
  // The model passes days: null at its first try of step 1; the retry's prompt names the argument, and it leaves it out.
  let nulls = 0;
  llm.configure({
    respond: (call) => {
      if (!call.prompt.includes('- get_weather')) return undefined;
      const answer = (o: object) => ({ question: 'Weather in Oslo?', thought: 't', tool_calls: [], is_final: false, final_answer: '', ...o });
      if (/Give step 1\b/.test(call.prompt)) {
        const told = call.prompt.includes("Argument 'days' of get_weather is null");
        if (!told) nulls++;
        const args = told ? { city: 'Oslo' } : { city: 'Oslo', days: null };
        return answer({ tool_calls: [{ function_name: 'get_weather', arguments_json: JSON.stringify(args), reasoning: 'the forecast' }] });
      }
      return answer({ is_final: true, final_answer: 'Sunny in Oslo.' });
    },
  });
  writeFileSync(
    path.join(cwd, 'weather.yaml'),
    `llm: { provider: openai, model: gpt-4o-mini }
topics: { prompt: "Weather", depth: 1, degree: 1 }
generation:
  system_prompt: "You write agent traces."
  conversation: { type: cot, reasoning_style: agent }
  tools:
    custom:
      - name: get_weather
        description: "Weather forecast"
        parameters:
          - { name: city, type: str, description: "City" }
          - { name: days, type: int, description: "Days ahead", required: false }
        returns: "The forecast"
        mock_response: "Sunny in {{city}}"
output:
  num_samples: 1
  batch_size: 1
  save_as: weather.jsonl
`,
  );
  const r = await generate(['weather.yaml']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const step1 = llm.calls.filter((c) => /Give step 1\b/.test(c.prompt) && c.prompt.includes('- get_weather'));
  expect(nulls).toBe(1);
  expect(step1).toHaveLength(2);
  const [rec] = lines('weather.jsonl');
  const executions = (rec!.tool_context as { executions: { arguments: string; result: string }[] }).executions;
  expect(executions).toEqual([expect.objectContaining({ arguments: '{"city":"Oslo"}', result: 'Sunny in Oslo' })]);
  expect(JSON.stringify(rec)).not.toContain('null');
});

it("DeepFabric 4.13's generate flags run with their meanings; its verbs answer (checkpoint-status) or say plainly they are not built (exit 2)", async () => {
  const r = await generate([
    'tree-topics-one-top-level-llm.yaml',
    '--tui',
    'simple',
    '--conversation-type',
    'cot',
    '--reasoning-style',
    'freetext',
    '--no-system-message',
    '--generation-system-prompt',
    'You are the flag-given generator.',
    '--resume',
    '--checkpoint-interval',
    '5',
    '--output-save-as',
    'flags.jsonl',
    '--run-id',
    'df-flags',
  ]);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(r.stderr).toContain('note: --checkpoint-*: every batch is a checkpoint in the run store here');
  const records = lines('flags.jsonl');
  expect(records).toHaveLength(4);
  for (const rec of records) {
    expect(RecordSchemas.chain_of_thought.safeParse(rec).success).toBe(true);
    expect((rec.messages as { role: string }[]).some((m) => m.role === 'system')).toBe(false);
  }
  const calls = llm.calls.filter((c) => c.batch?.startsWith('df-flags/'));
  expect(calls.length).toBeGreaterThan(0);
  for (const c of calls) expect(c.prompt).toContain('You are the flag-given generator.');

  const bad = await generate(['tree-topics-one-top-level-llm.yaml', '--agent-mode', 'multi_turn', '--tui', 'fancy']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--agent-mode: multi_turn is no longer supported');
  expect(bad.stderr).toContain('--tui: expected rich or simple, got "fancy"');

  const before = llm.calls.length;
  const checkOnly = await cli(['validate', 'tree-topics-one-top-level-llm.yaml', '--no-check-api']);
  expect(checkOnly.code).toBe(0);
  expect(llm.calls.length).toBe(before);

  const status = await cli(['checkpoint-status', 'tree-topics-one-top-level-llm.yaml']);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/^every finished batch is a checkpoint/);
  expect(status.stdout).toMatch(/df-flags +completed/);
  for (const verb of ['evaluate', 'upload-kaggle', 'import-tools']) {
    const v = await cli([verb, 'anything']);
    expect({ verb, code: v.code }).toEqual({ verb, code: 2 });
    expect(v.stderr).toMatch(/^error: .*not built here/);
  }
});
