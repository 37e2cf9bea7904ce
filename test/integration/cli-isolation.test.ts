/**
 * A command's worker runs only what that command started or resumed (issue 18), and a data folder
 * never touches another folder's runs (issue 24): an interrupted run costs nothing until the command
 * that names it runs again; `status` and `cancel` answer without a worker; `runs list` names its server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GOOD_CLI_CONFIG } from '../support/fixtures';
import { LlmTestServer } from '../support/llm-server';
import { runCli, shown, spawnCli } from '../support/cli';
import { waitFor } from '../support/temporal';

let llm: LlmTestServer;
beforeAll(async () => {
  llm = await new LlmTestServer().start();
});
afterAll(() => llm.stop());

const config = (name: string, instructions: string, n: number) =>
  JSON.stringify({
    ...GOOD_CLI_CONFIG,
    run: { name },
    generation: { instructions, conversation: { type: 'basic' }, concurrency: 2 },
    output: { num_samples: n, samples_per_call: 1, save_as: `out/${name}.jsonl` },
  });

it('an interrupted run is not resumed by another generate in its folder; status and cancel answer without a worker', async () => {
  llm.configure({ latencyMs: 200 });
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-iso-'));
  writeFileSync(path.join(cwd, 'a.yaml'), config('alpha', 'ALPHA questions', 200));
  // B lives longer than the sticky-queue timeout (10 s), after which A's pending workflow task is open
  // to any poller of A's task queue: with one queue per folder, B's worker took A over at that point.
  writeFileSync(path.join(cwd, 'b.yaml'), config('beta', 'BETA questions', 120));
  const env = { OPENAI_API_KEY: 'sk-iso', OPENAI_BASE_URL: llm.openaiBaseUrl };
  const callsOf = (tag: string) => llm.calls.filter((c) => c.prompt.includes(tag)).length;

  // Run A is interrupted after a few calls (Ctrl-C), well short of its 200 examples.
  const a = spawnCli(['generate', 'a.yaml'], { cwd, env });
  await waitFor(() => callsOf('ALPHA') >= 4);
  a.child.kill('SIGINT');
  const aResult = await a.done;
  expect(shown(aResult)).toEqual({ code: 130, tail: expect.stringContaining('keeps its progress') });
  const runA = /run (alpha-\S+) \(/.exec(aResult.stderr)![1]!;
  const alphaCalls = callsOf('ALPHA');

  // Run B in the same folder: completes, and A's calls stay where they were.
  const b = await runCli(['generate', 'b.yaml'], { cwd, env });
  expect(shown(b)).toEqual({ code: 0, tail: expect.stringContaining('completed: 120 records') });
  expect(callsOf('BETA')).toBeGreaterThanOrEqual(120);
  expect(callsOf('ALPHA')).toBe(alphaCalls);

  // `status` of A: no worker runs it, said in words, from the memo (no query that hangs or fails).
  const status = await runCli(['status', runA], { cwd, env });
  expect(shown(status)).toEqual({ code: 0, tail: expect.stringContaining(`no worker is running ${runA}`) });
  expect(status.stdout).toMatch(/^status\s+running/m);
  expect(status.stdout).toContain(`(data folder ${path.join(cwd, 'data')})`);

  // `cancel` of A ends it now, with its records assembled, and without one more model call.
  const cancel = await runCli(['cancel', runA], { cwd, env });
  expect(shown(cancel)).toEqual({ code: 0, tail: expect.stringContaining(`${runA} cancelled`) });
  expect(callsOf('ALPHA')).toBe(alphaCalls);
  const list = await runCli(['runs', 'list'], { cwd, env });
  expect(list.stdout).toMatch(new RegExp(`^${runA}\\s+cancelled\\s`, 'm'));
  expect(list.stdout).toMatch(/^beta-\S+\s+completed\s+openai\/gpt-4o-mini\s+120\/120\s/m);
  expect(list.stdout.match(/^(alpha|beta)-/gm)).toHaveLength(2); // one row per run
  expect(list.stdout).toMatch(/^embedded Temporal at 127\.0\.0\.1:\d+ \(data folder .*\)$/m);
});
