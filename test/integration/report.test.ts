/**
 * `deepfabric report` (issue 23): one self-contained HTML page per run, opened in headless Chromium.
 * It renders with no console message and no request leaving the page, and the figures drawn in the
 * DOM by its script equal the manifest's. A control page shows the checks can fail: its script
 * error and its image request are both caught.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { FsStore } from '../../src/storage/fs-store';
import { topicPaths } from '../support/fixtures';
import { figuresOf, renderPage } from '../support/chromium';
import { useIntegrationEnv } from '../support/integration-env';
import { tempDataDir } from '../support/temporal';

const env = useIntegrationEnv('report');
const bin = path.join(__dirname, '..', '..', 'bin', 'deepfabric.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DEEPFABRIC_STORE: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

it('validate names the quality gates a config sets', async () => {
  const dir = tempDataDir('validate-quality-');
  const file = path.join(dir, 'config.yaml');
  await fs.writeFile(
    file,
    'llm: {model: openai/gpt-4o-mini}\ntopics: {paths: [[a]]}\noutput: {num_samples: 2}\n' +
      'quality:\n  judge: {llm: {model: anthropic/claude-3-5-haiku-latest}, rubric: [{name: correctness, description: right}, {name: clarity, description: clear}]}\n' +
      '  validators: [{type: python}, {type: regex, name: cites, pattern: "http"}]\n',
  );
  const out = await cli(['validate', file, '--no-check-api', '--data-dir', dir]);
  expect(out.stderr).toBe('');
  expect(out.stdout).toContain('  quality: judge anthropic/claude-3-5-haiku-latest on correctness, clarity; validators python, cites\n');
});

it('the control page: a script error and a request leaving the page are both caught', async () => {
  const dir = tempDataDir('chromium-control-');
  const file = path.join(dir, 'control.html');
  await fs.writeFile(
    file,
    '<!doctype html><p id="x">a</p><img src="http://report-probe.invalid/x.png"><script>document.getElementById("x").textContent = "b"; null.f();</script>',
  );
  const page = await renderPage(file);
  expect(page.dom).toContain('<p id="x">b</p>'); // its script ran before the error
  expect(page.console.join('\n')).toMatch(/Uncaught TypeError/);
  expect(page.requests).toEqual([expect.stringContaining('report-probe.invalid')]);
});

it("a judged run's report renders in Chromium with no console message and no request, and shows the manifest's figures", async () => {
  env.llm.configure({
    realistic: true,
    respond: ({ prompt }) => {
      if (!prompt.includes('Judge this training example.')) return undefined;
      const h = createHash('sha256')
        .update(prompt.slice(prompt.indexOf('<<<')))
        .digest()[0]!;
      return { scores: { correctness: 1 + (h % 5), clarity: h % 2 ? 4 : 5 }, reason: 'scripted <b>not markup</b>' };
    },
  });
  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    concurrency: 4,
    temporal: { client: env.client, taskQueue: env.taskQueue },
  })
    // The judge is another provider and model than the generator.
    .setJudge({
      modelName: 'anthropic/claude-3-5-haiku-latest',
      rubric: [
        { name: 'correctness', description: 'Is it right?', minScore: 2 },
        { name: 'clarity', description: 'Is it clear?' },
      ],
    })
    .addValidator({ type: 'regex', name: 'has_digit', pattern: '\\d', action: 'flag' });
  const run = await gen.startData({ numSteps: 24, batchSize: 2, topics: topicPaths(40), runName: 'reported' });
  const result = await run.result();
  const manifest = JSON.parse(await fs.readFile(result.manifestPath, 'utf8')) as {
    records: number;
    target: number;
    stats: {
      accepted: number;
      requested: number;
      batchesDone: number;
      calls: number;
      inputTokens: number;
      outputTokens: number;
      rejected: Record<string, number>;
      quality: { judgeInputTokens: number; scores: Record<string, Record<string, number>>; validators: Record<string, { passed: number; failed: number }> };
    };
  };
  const judged = env.llm.calls.filter((c) => c.prompt.includes('Judge this training example.'));
  expect(new Set(judged.map((c) => `${c.protocol} ${c.model}`))).toEqual(new Set(['anthropic claude-3-5-haiku-latest']));
  expect(new Set(env.llm.calls.filter((c) => !judged.includes(c)).map((c) => c.protocol))).toEqual(new Set(['openai']));
  const out = path.join(tempDataDir('report-'), 'report.html');
  const made = await cli(['report', run.runId, '--data-dir', env.dataDir, '--out', out]);
  expect(made.stderr).toBe('');
  expect(made.stdout).toContain(`written to ${out}`);

  const page = await renderPage(out);
  expect(page.console).toEqual([]);
  expect(page.requests).toEqual([]);
  const f = figuresOf(page.dom);
  const s = manifest.stats;
  expect({
    records: Number(f.records),
    target: Number(f.target),
    accepted: Number(f.accepted),
    requested: Number(f.requested),
    batchesDone: Number(f['batches-done']),
    calls: Number(f.calls),
    inputTokens: Number(f['input-tokens']),
    outputTokens: Number(f['output-tokens']),
    judgeInputTokens: Number(f['judge-input-tokens']),
  }).toEqual({
    records: manifest.records,
    target: manifest.target,
    accepted: s.accepted,
    requested: s.requested,
    batchesDone: s.batchesDone,
    calls: s.calls,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    judgeInputTokens: s.quality.judgeInputTokens,
  });
  // Dropped examples by reason, judge histograms (every score of each scale drawn, 0 where none), validators.
  const rejected = Object.fromEntries(Object.keys(s.rejected).map((k) => [k, Number(f[`rejected:${k}`])]));
  expect(rejected).toEqual(s.rejected);
  expect(s.rejected['judge: correctness']).toBeGreaterThan(0);
  for (const criterion of ['correctness', 'clarity'])
    for (let score = 1; score <= 5; score++) expect(Number(f[`score:${criterion}:${score}`])).toBe(s.quality.scores[criterion]![score] ?? 0);
  expect(Number(f['validator:has_digit:passed'])).toBe(s.quality.validators.has_digit!.passed);
  expect(Number(f['validator:has_digit:failed'])).toBe(s.quality.validators.has_digit!.failed);
  // Every example is a sample candidate: its scores shown; the judge's reason shown as text, not markup.
  expect(page.dom).toMatch(/data-score="correctness"/);
  expect(page.dom).toContain('scripted &lt;b&gt;not markup&lt;/b&gt;');
  expect(Number(f['topics-used']) + Number(f['topics-unused'])).toBe(40);
  expect(Number(f['lengths-n'])).toBe(manifest.records);
  // preview shows the newest examples with their judge scores (as kept in the shards).
  const preview = await cli(['preview', run.runId, '-n', '3', '--data-dir', env.dataDir]);
  expect(preview.code).toBe(0);
  const shown = [...preview.stdout.matchAll(/^judge: correctness (\d), clarity (\d) \(scripted <b>not markup<\/b>\)$/gm)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);
  expect(shown).toHaveLength(3);
  for (const [correctness] of shown) expect(correctness).toBeGreaterThanOrEqual(2); // kept: at least the minimum
  const shards = new FsStore(env.dataDir).run(run.runId);
  const newest: { metadata: { quality: { scores: Record<string, number> } } }[] = [];
  for (const b of await shards.shardIndices()) newest.push(...((await shards.readShard(b)).records as typeof newest));
  expect(shown).toEqual(newest.slice(-3).map((r) => [r.metadata.quality.scores.correctness, r.metadata.quality.scores.clarity]));
  // REPORT_SCREENSHOT=docs/report.png: the picture in the README (made from this run).
  if (process.env.REPORT_SCREENSHOT) await renderPage(out, { screenshot: path.resolve(process.env.REPORT_SCREENSHOT), height: 3200 });
});
