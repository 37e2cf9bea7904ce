/**
 * Quality gates end to end (issue 23): a judge model that rejects about 30% of the examples, with
 * the worker killed (SIGKILL) mid-run, and a Python validator over planted broken code. The local
 * LLM server answers judge calls with scripted scores (a hash of the example: the same example
 * always gets the same score), so what the run kept and dropped can be checked from outside.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { judgeText } from '../../src/dataset/judge';
import { ModelError } from '../../src/errors';
import { SECRET_KEY, topicPaths, workerEnv } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

const env = useIntegrationEnv('quality', { worker: false });

const JUDGE = 'Judge this training example.';
/** About 30% of examples score 2 on correctness (under the minimum 3), the rest 4. */
const lowScore = (exampleText: string) => createHash('sha256').update(exampleText).digest()[0]! < 77;
const exampleOf = (judgePrompt: string) => judgePrompt.slice(judgePrompt.indexOf('<<<\n') + 4, judgePrompt.lastIndexOf('\n>>>'));

type Rec = { messages: { role: string; content: string }[]; metadata: { quality?: { scores?: Record<string, number>; flags?: unknown } } };

it('a judge rejecting ~30% keeps the target exact, counts rejections by criterion, and judges no example twice but those in flight at a SIGKILL', async () => {
  env.llm.configure({
    latencyMs: 120,
    respond: ({ prompt }) =>
      prompt.includes(JUDGE) ? { scores: { correctness: lowScore(exampleOf(prompt)) ? 2 : 4, clarity: 5 }, reason: 'scripted' } : undefined,
  });
  const taskQueue = uniqueTaskQueue('judge');
  const dataDir = tempDataDir('judge-');
  const vars = { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir };
  let worker = await spawnWorkerProcess(taskQueue, vars);
  try {
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 4,
      callsPerBatch: 2,
      heartbeatTimeout: 2,
      temporal: { client: env.client, taskQueue },
    }).setJudge({
      rubric: [
        { name: 'correctness', description: 'Is the answer right?', minScore: 3 },
        { name: 'clarity', description: 'Is it clear?' },
      ],
    });
    const run = await gen.startData({ numSteps: 60, batchSize: 2, topics: topicPaths(30), runName: 'judged' });
    const judgeCalls = () => env.llm.calls.filter((c) => c.prompt.includes(JUDGE));
    await waitFor(async () => (judgeCalls().filter((c) => c.endedAt !== undefined).length >= 20 ? true : undefined), 60_000, 20);
    worker.kill('SIGKILL');
    const inFlightAtKill = env.llm.calls.filter((c) => c.endedAt === undefined).length;
    await new Promise((r) => worker.once('exit', r));
    worker = await spawnWorkerProcess(taskQueue, vars);
    const result = await run.result();
    const stats = result.stats;

    const records = (await fs.readFile(result.datasetPath, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec);
    expect(records).toHaveLength(60);
    expect(new Set(records.map((r) => JSON.stringify(r.messages))).size).toBe(60);
    // Every kept example was judged, passed, and carries the score the judge gave it.
    for (const r of records) {
      expect(r.metadata.quality?.scores).toEqual({ correctness: 4, clarity: 5 });
      expect(lowScore(judgeText(r))).toBe(false);
    }
    const answered = judgeCalls().filter((c) => c.outcome === 'ok');
    const distinct = new Set(answered.map((c) => exampleOf(c.prompt)));
    const rejected = [...distinct].filter(lowScore).length;
    process.stdout.write(
      `judge: ${answered.length} calls answered for ${distinct.size} examples (${rejected} rejected, ${((100 * rejected) / distinct.size).toFixed(0)}%), ${inFlightAtKill} calls in flight at the server at the kill\n`,
    );
    // Examples judged = judge calls the run counted. A judge call is repeated only when the worker died
    // before checkpointing its answer (in flight, or answered a moment before the kill): at most one per
    // call slot (concurrency 4), never a call whose answer was checkpointed.
    expect(stats.quality?.judgeCalls).toBe(distinct.size);
    expect(answered.length - distinct.size).toBeLessThanOrEqual(4);
    expect(stats.rejected['judge: correctness']).toBe(rejected);
    expect(rejected / distinct.size).toBeGreaterThan(0.15);
    expect(rejected / distinct.size).toBeLessThan(0.45);
    expect(stats.quality?.scores).toEqual({ correctness: { '2': rejected, '4': distinct.size - rejected }, clarity: { '5': distinct.size } });
    // Judge tokens are counted apart from the generator's.
    expect(stats.quality?.judgeInputTokens).toBeGreaterThan(0);
    const genTokens = env.llm.calls.filter((c) => !c.prompt.includes(JUDGE)).reduce((n, c) => n + c.inputTokens, 0);
    expect(stats.inputTokens).toBeLessThanOrEqual(genTokens);
    // The manifest carries the same figures.
    const manifest = JSON.parse(await fs.readFile(path.join(path.dirname(result.datasetPath), 'manifest.json'), 'utf8')) as {
      stats: { quality: unknown; rejected: Record<string, number> };
    };
    expect(manifest.stats.quality).toEqual(stats.quality);
    expect(manifest.stats.rejected['judge: correctness']).toBe(rejected);
  } finally {
    worker.kill('SIGKILL');
  }
});

it('a Python validator drops the planted answers whose code does not parse and keeps the valid ones', async () => {
  const planted = new Map<number, number>(); // call -> broken examples planted
  let examplesPlanted = 0;
  env.llm.configure({
    respond: ({ callNo, schema }) => {
      const n = (schema as { properties?: { examples?: { minItems?: number } } }).properties?.examples?.minItems ?? 1;
      let broken = 0;
      const examples = Array.from({ length: n }, (_, i) => {
        const k = callNo * 10 + i;
        const bad = k % 3 === 0;
        if (bad) broken++;
        const code = bad ? `def f${k}(x:\n    return x` : `def f${k}(x):\n    return x + ${k}`;
        return {
          messages: [
            { role: 'user', content: `Write function number ${k}.` },
            { role: 'assistant', content: `Here it is:\n\`\`\`python\n${code}\n\`\`\`` },
          ],
        };
      });
      planted.set(callNo, broken);
      examplesPlanted += n;
      return { examples };
    },
  });
  const taskQueue = uniqueTaskQueue('validators');
  const dataDir = tempDataDir('validators-');
  const worker = await spawnWorkerProcess(taskQueue, { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir });
  try {
    const gen = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir, concurrency: 4, temporal: { client: env.client, taskQueue } }).addValidator({
      type: 'python',
    });
    const run = await gen.startData({ numSteps: 30, batchSize: 3, topics: topicPaths(10), runName: 'validated' });
    const result = await run.result();
    const records = (await fs.readFile(result.datasetPath, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec);
    expect(records).toHaveLength(30);
    const broken = [...planted.values()].reduce((a, b) => a + b, 0);
    expect(broken).toBeGreaterThan(0);
    expect(result.stats.rejected['validator: python']).toBe(broken);
    expect(result.stats.quality?.validators).toEqual({ python: { passed: examplesPlanted - broken, failed: broken } });
    // What was kept parses: no record holds a planted broken function.
    for (const r of records) expect(r.messages.at(-1)!.content).not.toMatch(/\(x:\n/);
  } finally {
    worker.kill('SIGKILL');
  }
});

it('a judge whose key is refused fails the run naming the judge; with the key fixed, the same run pays no generator call twice', async () => {
  env.llm.configure({
    acceptKey: SECRET_KEY,
    respond: ({ prompt }) => (prompt.includes(JUDGE) ? { scores: { correctness: 4 }, reason: 'scripted' } : undefined),
  });
  const taskQueue = uniqueTaskQueue('judge-key');
  const dataDir = tempDataDir('judge-key-');
  // The generator's key (OpenAI) is right, the judge's (Anthropic) is not.
  const vars = { ...workerEnv(env.llm), ANTHROPIC_API_KEY: 'sk-ant-wrong', DEEPFABRIC_DATA_DIR: dataDir };
  let worker = await spawnWorkerProcess(taskQueue, vars);
  try {
    const gen = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini', dataDir, concurrency: 4, temporal: { client: env.client, taskQueue } }).setJudge({
      modelName: 'anthropic/claude-3-5-haiku-latest',
      rubric: [{ name: 'correctness', description: 'Is the answer right?', minScore: 3 }],
    });
    const start = () => gen.startData({ numSteps: 12, batchSize: 2, topics: topicPaths(12), runName: 'judge-key' });
    const err = await (await start()).result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).category).toBe('auth_error');
    // The message says it was the judge, which model, and which key to fix.
    expect((err as Error).message).toMatch(/ stopped: judge anthropic\/claude-3-5-haiku-latest: anthropic refused the API key/);
    expect((err as Error).message).toMatch(/ANTHROPIC_API_KEY/);
    expect((err as Error).message).not.toMatch(/OPENAI_API_KEY/);
    const generated = () => env.llm.calls.filter((c) => c.protocol === 'openai' && c.outcome === 'ok').map((c) => `${c.batch}/${c.call ?? 0}`);
    const before = generated();
    expect(before.length).toBeGreaterThan(0);
    expect(env.llm.calls.filter((c) => c.protocol === 'anthropic').every((c) => c.outcome === '401')).toBe(true);

    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    worker = await spawnWorkerProcess(taskQueue, { ...vars, ANTHROPIC_API_KEY: SECRET_KEY });
    const result = await (await start()).result();
    expect(result.records).toBe(12);
    // Every example generated before the failure was judged from its checkpoint, not generated again.
    const after = generated().slice(before.length);
    expect(after.filter((k) => before.includes(k))).toEqual([]);
    expect(result.stats.quality?.judgeCalls).toBe(env.llm.calls.filter((c) => c.protocol === 'anthropic' && c.outcome === 'ok').length);
  } finally {
    worker.kill('SIGKILL');
  }
});
