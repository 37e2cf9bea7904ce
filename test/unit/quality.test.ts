/**
 * Quality gates in pieces: the judge's prompt, answer and verdict; the validators (Python's own
 * parser, JSON, regex); a call through the gates with its checkpoints (a judge that fails mid-call
 * resumes at the next unjudged example); the options as the library and the YAML give them.
 */
import { addQualityCounts, QualitySettingsSchema, type QualitySettings } from '../../src/config/quality';
import { failedCriterion, judgePrompt, readJudgeAnswer } from '../../src/dataset/judge';
import { fencedBlocks, runValidators } from '../../src/dataset/validators';
import { passQualityGates } from '../../src/activities/quality-gates';
import type { CallOutcome, QualityProgress } from '../../src/activities/types';
import { qualitySettings } from '../../src/client/run-builder';
import { parseYamlConfig } from '../../src/config/yaml-config';
import { ConfigurationError } from '../../src/errors';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const rubric = [
  { name: 'correctness', description: 'Is the answer right?', min: 1, max: 5, minScore: 3 },
  { name: 'clarity', description: 'Is it clear?', min: 1, max: 5 },
];
const model = { provider: 'openai' as const, model: 'gpt-4o-mini' };

const record = (q: string, a: string) => ({
  messages: [
    { role: 'user', content: q },
    { role: 'assistant', content: a },
  ],
  metadata: { topic_id: 't' },
});

describe('the judge', () => {
  it('is shown the rubric with its scales, the topic and the conversation, and answers every criterion on its scale', () => {
    const p = judgePrompt(rubric, record('What is 2+2?', 'It is 4.'), ['Maths', 'Sums']);
    expect(p).toContain('- correctness (1 to 5): Is the answer right?');
    expect(p).toContain('Topic: Maths -> Sums');
    expect(p).toContain('user: What is 2+2?\n\nassistant: It is 4.');
    expect(readJudgeAnswer(rubric, { scores: { correctness: 4, clarity: 5 }, reason: 'fine' })).toEqual({
      scores: { correctness: 4, clarity: 5 },
      reason: 'fine',
    });
    expect(readJudgeAnswer(rubric, { scores: { correctness: 4 }, reason: 'x' })).toMatch(/scores\.clarity/);
    expect(readJudgeAnswer(rubric, { scores: { correctness: 9, clarity: 1 }, reason: 'x' })).toBe('the judge scored correctness 9, outside its scale 1 to 5');
    expect(readJudgeAnswer(rubric, { scores: { correctness: 3.5, clarity: 1 }, reason: 'x' })).toMatch(/correctness/);
  });

  it('rejects on the first criterion under its minimum, and only there', () => {
    expect(failedCriterion({ rubric }, { correctness: 2, clarity: 1 })).toBe('correctness');
    expect(failedCriterion({ rubric }, { correctness: 3, clarity: 1 })).toBeUndefined(); // clarity has no minimum
  });
});

describe('validators', () => {
  it('finds fenced blocks by language', () => {
    const text = 'a\n```python\nx = 1\n```\nb\n```json\n{"a": 1}\n```\n```\nplain\n```\n```py\ny = 2\n```';
    expect(fencedBlocks(text, ['python', 'py'])).toEqual(['x = 1\n', 'y = 2\n']);
    expect(fencedBlocks(text, ['json'])).toEqual(['{"a": 1}\n']);
  });

  it("checks Python with Python's parser, JSON blocks and patterns, example by example", async () => {
    const examples = [
      'Here:\n```python\ndef f(x):\n    return x + 1\n```',
      'Broken:\n```python\ndef f(x)\n    return x\n```',
      'No code at all.',
      'Bad JSON:\n```json\n{"a": }\n```',
    ].map((text) => ({ text, record: {} }));
    const [python, json, regex] = await runValidators(
      [
        { type: 'python', ruff: false, action: 'drop' },
        { type: 'json', action: 'drop' },
        { type: 'regex', pattern: '^(Here|No)', action: 'flag' },
      ],
      examples,
    );
    expect(python![0]).toBeUndefined();
    expect(python![1]).toMatch(/^block SyntaxError: .*\(line 1\)$/);
    expect(python!.slice(2)).toEqual([undefined, undefined]);
    expect(json!.map((x) => x === undefined)).toEqual([true, true, true, false]);
    expect(regex!.map((x) => x === undefined)).toEqual([true, false, true, false]);
  });

  it("with ruff, lints the blocks that parse by Ruff's default rules (Ruff from PyPI, scripts/ensure-ruff.sh)", async () => {
    process.env.DEEPFABRIC_VALIDATOR_RUFF ??= execFileSync('bash', [path.join(__dirname, '..', '..', 'scripts', 'ensure-ruff.sh')], {
      encoding: 'utf8',
    }).trim();
    const [python] = await runValidators(
      [{ type: 'python', ruff: true, action: 'drop' }],
      ['```python\nimport os\n\nx = 1\n```', '```python\nimport os\n\nprint(os.sep)\n```', '```python\ndef f(:\n```'].map((text) => ({ text, record: {} })),
    );
    expect(python![0]).toMatch(/^block ruff F401: .*os.* \(line 1\)$/);
    expect(python![1]).toBeUndefined();
    expect(python![2]).toMatch(/^block SyntaxError/); // the parser's word, not Ruff's
  }, 120_000);
});

describe('a call through the quality gates', () => {
  const quality: QualitySettings = QualitySettingsSchema.parse({
    judge: { model, rubric, temperature: 0, maxTokens: 100 },
    validators: [
      { type: 'python', action: 'drop' },
      { type: 'regex', name: 'polite', pattern: 'please', action: 'flag' },
    ],
  });
  const outcome: CallOutcome = {
    records: [record('q1 please', 'a1'), record('q2', '```python\nbroken(\n```'), record('q3 please', 'a3 low'), record('q4', 'a4')],
    topics: [['a'], ['b'], ['c'], ['d']],
    rejected: { 'missing from answer': 1 },
    inputTokens: 100,
    outputTokens: 50,
  };
  const scoresFor = (prompt: string) => ({ correctness: prompt.includes('low') ? 1 : 4, clarity: 5 });

  it('drops on a drop validator, flags on a flag one, judges the rest once each, and resumes after a failed judge call', async () => {
    const saves: QualityProgress[] = [];
    const prompts: string[] = [];
    let failAt: number | undefined = 1;
    const parts = (saved: QualityProgress | undefined) => ({
      quality,
      saved,
      save: async (p: QualityProgress) => void saves.push(structuredClone(p)),
      judge: async (prompt: string, _schema: Record<string, unknown>, index: number) => {
        if (index === failAt) throw new Error('judge down');
        prompts.push(prompt);
        return { object: { scores: scoresFor(prompt), reason: 'ok' }, usage: { inputTokens: 10, outputTokens: 3 } } as never;
      },
    });
    await expect(passQualityGates(outcome, parts(undefined))).rejects.toThrow('judge down');
    // Checkpointed after the validators (3 kept: the broken Python dropped) and after the one judge call that answered.
    expect(saves.map((s) => [s.outcome.records.length, s.judged.length])).toEqual([
      [3, 0],
      [3, 1],
    ]);
    failAt = undefined;
    const done = await passQualityGates(outcome, parts(saves.at(-1)));
    expect(prompts).toHaveLength(3); // three examples, each judged once across both attempts
    expect(done.rejected).toEqual({ 'missing from answer': 1, 'validator: python': 1, 'judge: correctness': 1 });
    expect(done.records).toHaveLength(2);
    expect(done.topics).toEqual([['a'], ['d']]);
    expect(done.quality).toEqual([
      { scores: { correctness: 4, clarity: 5 }, reason: 'ok' },
      { flags: { polite: 'does not match /please/' }, scores: { correctness: 4, clarity: 5 }, reason: 'ok' },
    ]);
    expect((done.records[1] as { metadata: Record<string, unknown> }).metadata).toEqual({ topic_id: 't', quality: done.quality![1] });
    expect(done.qualityCounts).toEqual({
      validators: { python: { passed: 3, failed: 1 }, polite: { passed: 2, failed: 2 } },
      judgeCalls: 3,
      judgeInputTokens: 30,
      judgeOutputTokens: 9,
      scores: { correctness: { '4': 2, '1': 1 }, clarity: { '5': 3 } },
    });
    // The generation's own tokens are untouched: the judge's are counted apart.
    expect([done.inputTokens, done.outputTokens]).toEqual([100, 50]);
  });

  it('sums counts and histograms', () => {
    const a = { judgeCalls: 2, judgeInputTokens: 5, scores: { c: { '1': 1, '4': 1 } }, validators: { python: { passed: 1, failed: 1 } } };
    const b = { judgeCalls: 1, judgeInputTokens: 2, scores: { c: { '4': 1 } }, validators: { python: { passed: 2, failed: 0 } } };
    expect(addQualityCounts(a, b)).toEqual({
      judgeCalls: 3,
      judgeInputTokens: 7,
      scores: { c: { '1': 1, '4': 2 } },
      validators: { python: { passed: 3, failed: 1 } },
    });
    expect(a.judgeCalls).toBe(2); // not changed in place
  });
});

describe('quality options', () => {
  it('gives each rubric item its scale and minimum, the judge its model and price', () => {
    const problems: string[] = [];
    const q = qualitySettings(
      {
        judge: {
          rubric: [
            { name: 'correctness', description: 'right', scale: 5, minScore: 4 },
            { name: 'style', description: 'nice', scale: [0, 10] },
          ],
          minScore: 2,
          temperature: 0,
          maxTokens: 512,
        },
        validators: [],
      },
      model,
      problems,
    );
    expect(problems).toEqual([]);
    expect(q!.judge!.model).toEqual(model);
    expect(q!.judge!.rubric).toEqual([
      { name: 'correctness', description: 'right', min: 1, max: 5, minScore: 4 },
      { name: 'style', description: 'nice', min: 0, max: 10, minScore: 2 },
    ]);
    expect(q!.judge!.price?.inputPerMTokUsd).toBeGreaterThan(0); // gpt-4o-mini has a list price
  });

  it('names the field of every problem', () => {
    const problems: string[] = [];
    qualitySettings(
      {
        judge: { modelName: 'nope/x', rubric: [{ name: '9bad', description: 'x', scale: 5, minScore: 7 }], temperature: 0, maxTokens: 5 },
        validators: [{ type: 'regex', pattern: '(', action: 'drop' }],
      },
      model,
      problems,
    );
    expect(problems).toEqual([
      expect.stringMatching(/^quality\.judge\.modelName: unknown provider "nope"/),
      expect.stringMatching(/^quality\.validators\[0\]\.pattern: /),
      expect.stringMatching(/^quality\.judge\.rubric\[0\]\.name: /),
      expect.stringMatching(/^quality\.judge\.rubric\[0\]: min_score: must lie on the scale/),
    ]);
  });

  it("reads the YAML's quality section, and refuses unknown keys by name", () => {
    const base = 'llm: {model: openai/gpt-4o-mini}\ntopics: {paths: [[a]]}\noutput: {num_samples: 2}\n';
    const cfg = parseYamlConfig(
      base +
        'quality:\n  judge:\n    llm: {model: anthropic/claude-3-5-haiku-latest, temperature: 0.2}\n    rubric:\n      - {name: correctness, description: right, scale: [1, 10], min_score: 6}\n    min_score: 3\n' +
        '  validators:\n    - {type: python, ruff: true}\n    - {type: http, url: "http://localhost:9/check", timeout_seconds: 5, action: flag}\n',
    );
    expect(cfg.quality).toEqual({
      judge: {
        modelName: 'anthropic/claude-3-5-haiku-latest',
        temperature: 0.2,
        rubric: [{ name: 'correctness', description: 'right', scale: [1, 10], minScore: 6 }],
        minScore: 3,
      },
      validators: [
        { type: 'python', ruff: true },
        { type: 'http', url: 'http://localhost:9/check', timeoutSeconds: 5, action: 'flag' },
      ],
    });
    const bad = () => parseYamlConfig(base + 'quality:\n  judge:\n    rubrik: []\n');
    expect(bad).toThrow(ConfigurationError);
    expect(bad).toThrow(/quality\.judge\.rubrik: unknown option; did you mean "rubric"\?/);
  });
});

describe('the http validator', () => {
  it("asks the user's service about each record and reads {valid, reason}; a service that answers otherwise fails the call, not the example", async () => {
    const http = await import('node:http');
    const seen: unknown[] = [];
    let broken = false;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const { record } = JSON.parse(body) as { record: { n: number } };
        seen.push(record);
        if (broken) res.writeHead(502).end('bad gateway');
        else {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(record.n % 2 ? { valid: false, reason: `odd ${record.n}` } : { valid: true }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}/check`;
    try {
      const v = [{ type: 'http' as const, url, timeoutSeconds: 5, action: 'drop' as const }];
      const examples = [1, 2, 3].map((n) => ({ text: '', record: { n } }));
      expect(await runValidators(v, examples)).toEqual([['odd 1', undefined, 'odd 3']]);
      expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      broken = true;
      await expect(runValidators(v, examples)).rejects.toMatchObject({ category: 'server_error', message: expect.stringContaining('answered 502') });
    } finally {
      server.close();
    }
  });
});
