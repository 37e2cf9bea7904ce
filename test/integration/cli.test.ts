import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { GOOD_CLI_CONFIG } from '../support/fixtures';
import { LlmTestServer } from '../support/llm-server';
import { freePort } from '../../src/worker/dev-server';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { temporalAddress, uniqueTaskQueue } from '../support/temporal';
import { runCli, shown } from '../support/cli';

const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'deepfabric.js');

/** One local LLM server for a describe block; read `.server` inside tests. */
function useLlmServer(): { server: LlmTestServer } {
  const holder = {} as { server: LlmTestServer };
  beforeAll(async () => {
    holder.server = await new LlmTestServer().start();
  });
  afterAll(() => holder.server.stop());
  return holder;
}

const cliWorkers: ChildProcess[] = [];
afterAll(() => cliWorkers.forEach((w) => w.kill('SIGKILL')));

/** Starts `deepfabric worker` with `env` and resolves once it polls its task queue. */
async function startCliWorker(cwd: string, env: Record<string, string>): Promise<void> {
  const worker = spawn(process.execPath, [bin, 'worker'], { cwd, env: { ...process.env, ...env } });
  cliWorkers.push(worker);
  await new Promise<void>((resolve, reject) => {
    worker.stderr.on('data', (d: Buffer) => d.toString().includes(`worker polling ${env.DEEPFABRIC_TASK_QUEUE}`) && resolve());
    worker.once('exit', (c) => reject(new Error(`deepfabric worker exited with ${c}`)));
  });
}

const good = GOOD_CLI_CONFIG;

// Every refusal is unit-tested in-process (test/unit/cli-preflight.test.ts); these prove the CLI's
// wiring: exit status 2, the message on stderr, no key echoed, nothing written.
describe('deepfabric generate refuses bad input before anything starts', () => {
  it('an unknown key, suggesting the closest; and a run id with path characters (checked before any run starts)', async () => {
    for (const [text, message] of [
      [JSON.stringify({ ...good, output: { ...good.output, num_sample: 3 } }), /output\.num_sample: unknown option; did you mean "num_samples"/],
      [JSON.stringify({ ...good, run: { id: '../escape' } }), /runId: "\.\.\/escape" may only hold/],
    ] as const) {
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-bad-'));
      writeFileSync(path.join(cwd, 'config.yaml'), text);
      const { code, stderr, stdout } = await runCli(['generate', 'config.yaml'], { cwd, env: { OPENAI_API_KEY: 'sk-SECRET-cli' } });
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr + stdout).not.toContain('sk-SECRET-cli');
      expect(existsSync(path.join(cwd, 'data'))).toBe(false);
      expect(existsSync(path.join(cwd, 'out'))).toBe(false);
    }
  });
  it('a DEEPFABRIC_OUTAGE_PATIENCE that is not a number of seconds', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-bad-'));
    writeFileSync(path.join(cwd, 'config.yaml'), JSON.stringify(good));
    const { code, stderr } = await runCli(['generate', 'config.yaml'], { cwd, env: { DEEPFABRIC_OUTAGE_PATIENCE: '5m' } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/DEEPFABRIC_OUTAGE_PATIENCE must be a number of seconds \(got "5m"\)/);
    expect(existsSync(path.join(cwd, 'data'))).toBe(false);
  });
  it('a config file that does not exist', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-bad-'));
    const { code, stderr } = await runCli(['generate', 'nope.yaml'], { cwd });
    expect(code).toBe(2);
    expect(stderr).toMatch(/config file nope\.yaml does not exist/);
  });
});

describe("cluster mode with the compose file's worker settings", () => {
  const llm = useLlmServer();
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('docker-compose.yml: PostgreSQL, schema by admin-tools (auto-setup is deprecated), server, UI, workers on the PostgreSQL store with no volume', () => {
    const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));
    const s = compose.services;
    expect(s.postgresql.image).toMatch(/^postgres:/);
    expect(s.postgresql.volumes).toContain('./scripts/compose/create-deepfabric-db.sql:/docker-entrypoint-initdb.d/create-deepfabric-db.sql:ro');
    expect(readFileSync(path.join(root, 'scripts/compose/create-deepfabric-db.sql'), 'utf8')).toMatch(/CREATE DATABASE deepfabric;/);
    expect(s['temporal-schema'].image).toMatch(/^temporalio\/admin-tools:/);
    expect(s.temporal.image).toMatch(/^temporalio\/server:/);
    // The server version compose ships is the one the cluster test builds and runs (npm run test:cluster).
    const tested = /TEMPORAL_SERVER_VERSION:-([\d.]+)/.exec(readFileSync(path.join(root, 'scripts/ensure-temporal-server.sh'), 'utf8'))![1];
    expect([s.temporal.image, s['temporal-schema'].image]).toEqual([`temporalio/server:${tested}`, `temporalio/admin-tools:${tested}`]);
    expect(s.temporal.depends_on['temporal-schema'].condition).toBe('service_completed_successfully');
    expect(s.temporal.ports).toContain('7233:7233');
    expect(s.temporal.environment.DB).toBe('postgres12');
    for (const file of ['setup-temporal-schema.sh', 'create-namespace.sh', 'dynamicconfig/deepfabric.yaml'])
      expect(existsSync(path.join(root, 'scripts/compose', file))).toBe(true);
    expect(s['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(s['temporal-ui'].ports).toContain('8080:8080');
    expect(s.worker.build).toBe('.');
    expect(s.worker.environment).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal:7233',
      DEEPFABRIC_STORE: 'postgres://temporal:temporal@postgresql:5432/deepfabric',
    });
    expect(s.worker.volumes).toBeUndefined();
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/CMD \["node", "bin\/deepfabric.js", "worker"\]/);
  });

  it('a `deepfabric worker` with that env (its own folder) serves a `deepfabric generate` in another folder through the PostgreSQL store', async () => {
    const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-cluster-'));
    const workerDir = mkdtempSync(path.join(os.tmpdir(), 'cli-worker-'));
    const taskQueue = uniqueTaskQueue('cli');
    const env: Record<string, string> = {
      ...compose.services.worker.environment,
      TEMPORAL_ADDRESS: temporalAddress(),
      DEEPFABRIC_TASK_QUEUE: taskQueue,
      DEEPFABRIC_STORE: pg.url, // the compose host name 'postgresql' is this test's PostgreSQL
      DEEPFABRIC_DATA_DIR: workerDir,
      OPENAI_API_KEY: 'sk-worker-only',
      OPENAI_BASE_URL: llm.server.openaiBaseUrl,
    };
    await startCliWorker(workerDir, env);
    writeFileSync(path.join(cwd, 'config.yaml'), JSON.stringify(good));
    // The client has no model key (keys live only with workers) and no folder in common with the worker.
    const { code, stdout, stderr } = await runCli(['generate', 'config.yaml'], {
      cwd,
      env: { TEMPORAL_ADDRESS: temporalAddress(), DEEPFABRIC_TASK_QUEUE: taskQueue, DEEPFABRIC_STORE: pg.url, OPENAI_API_KEY: '' },
    });
    expect(stderr).toMatch(/cluster Temporal at/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/completed: 6 records/);
    // The run's report, written by the client from the PostgreSQL store (its manifest and shards), beside the UI link's place.
    const report = /^ {2}report: (\S+report\.html)/m.exec(stdout);
    expect(report).not.toBeNull();
    const page = readFileSync(report![1]!, 'utf8');
    expect(page).toContain('"source":"manifest"');
    expect(page).toContain('"records":6,');
    const out = readFileSync(path.join(cwd, 'out', 'dataset.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(6);
    expect(out[0].conversations[0].from).toBe('system');
    expect(llm.server.calls).toHaveLength(2);
    expect(existsSync(path.join(workerDir, 'runs'))).toBe(false); // the worker wrote nothing to its disk

    const runId = /run (\S+) \(cluster/.exec(stderr)![1]!;
    const dataEnv = { DEEPFABRIC_DATA_DIR: path.join(cwd, 'data') };
    // DeepFabric 3.x's alpaca leaves the system message out: named, refused, allowed by --drop.
    const refused = await runCli(['export', runId, '--out', 'alpaca.jsonl', '--format', 'alpaca'], { cwd, env: dataEnv });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/record 1: format "alpaca" cannot carry messages\[system\]\.content .*--drop system/);
    expect(existsSync(path.join(cwd, 'alpaca.jsonl'))).toBe(false);
    const exported = await runCli(['export', runId, '--out', 'alpaca.jsonl', '--format', 'alpaca', '--drop', 'system'], { cwd, env: dataEnv });
    expect(exported.code).toBe(0);
    const rows = readFileSync(path.join(cwd, 'alpaca.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    expect(Object.keys(rows[0]).sort()).toEqual(['input', 'instruction', 'output']);
    const missing = await runCli(['export', 'no-such-run', '--out', 'x.jsonl'], { cwd, env: { DEEPFABRIC_DATA_DIR: path.join(cwd, 'data') } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/run no-such-run has no dataset/);
  });
});

describe('topics from a prompt', () => {
  const llm = useLlmServer();

  it('`topics` builds and saves a tree, `visualize` draws it, `generate` builds topics first when given a prompt', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-topics-'));
    const taskQueue = uniqueTaskQueue('cli-topics');
    const env = { TEMPORAL_ADDRESS: temporalAddress(), DEEPFABRIC_TASK_QUEUE: taskQueue, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: llm.server.openaiBaseUrl };
    await startCliWorker(cwd, { ...env, DEEPFABRIC_DATA_DIR: path.join(cwd, 'data') });
    const cfg = {
      llm: { model: 'openai/gpt-4o-mini' },
      topics: { prompt: 'Databases', mode: 'tree', depth: 2, degree: 2, save_as: 'topics.jsonl' },
      output: { num_samples: 4, samples_per_call: 2 },
    };
    writeFileSync(path.join(cwd, 'config.yaml'), JSON.stringify(cfg));
    const built = await runCli(['topics', 'config.yaml'], { cwd, env });
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/tree: 4 paths, 7 nodes, 0 failed expansions/);
    const lines = readFileSync(path.join(cwd, 'topics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.path.length === 3 && l.path[0] === 'Databases')).toBe(true);

    const drawn = await runCli(['visualize', 'topics.jsonl', '--out', 'topics.mmd'], { cwd, env });
    expect(drawn.code).toBe(0);
    const mermaid = readFileSync(path.join(cwd, 'topics.mmd'), 'utf8');
    expect(mermaid.startsWith('graph TD')).toBe(true);
    expect(mermaid.match(/-->/g)).toHaveLength(6);

    const callsBefore = llm.server.calls.length;
    const gen = await runCli(['generate', 'config.yaml'], { cwd, env });
    expect(gen.code).toBe(0);
    expect(gen.stdout).toMatch(/completed: 4 records/);
    // The same topics build is attached to, not paid again: only the 2 batches call the model.
    expect(llm.server.calls.length - callsBefore).toBe(2);
  });
});

describe('one embedded server shared by every command of a data folder', () => {
  const llm = useLlmServer();

  it('two `generate` started together both finish exact, though the first ends early; then `runs list` and `status` answer', async () => {
    llm.server.configure({ latencyMs: 150 });
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-shared-'));
    const cfg = (n: number, saveAs: string) =>
      JSON.stringify({ ...good, output: { num_samples: n, samples_per_call: 2, save_as: saveAs }, generation: { ...good.generation, concurrency: 2 } });
    writeFileSync(path.join(cwd, 'a.yaml'), cfg(4, 'out/a.jsonl'));
    writeFileSync(path.join(cwd, 'b.yaml'), cfg(40, 'out/b.jsonl'));
    const env = { OPENAI_API_KEY: 'sk-embedded', OPENAI_BASE_URL: llm.server.openaiBaseUrl };
    const [a, b] = await Promise.all([runCli(['generate', 'a.yaml'], { cwd, env }), runCli(['generate', 'b.yaml'], { cwd, env })]);
    // On failure these show what each command printed (its stdout and stderr), not a placeholder.
    expect(shown(a)).toEqual({ code: 0, tail: expect.stringContaining('completed: 4 records') });
    expect(shown(b)).toEqual({ code: 0, tail: expect.stringContaining('completed: 40 records') });
    const lines = (f: string) =>
      readFileSync(path.join(cwd, 'out', f), 'utf8')
        .split('\n')
        .filter(Boolean);
    expect(lines('a.jsonl')).toHaveLength(4);
    expect(new Set(lines('b.jsonl')).size).toBe(40);

    // The last one out stopped the server; the state is kept and a later command starts it again.
    const tempDir = path.join(cwd, 'data', 'temporal');
    expect(existsSync(path.join(tempDir, 'server.json'))).toBe(false);
    const list = await runCli(['runs', 'list'], { cwd });
    expect(list.code).toBe(0);
    const runIdB = /run (\S+) \(embedded/.exec(b.stderr)![1]!;
    expect(list.stdout.split('\n')[0]).toMatch(/^RUN ID\s+STATUS\s+MODEL\s+PROGRESS\s+STARTED$/);
    expect(list.stdout).toMatch(new RegExp(`^${runIdB}\\s+completed\\s+openai/gpt-4o-mini\\s+40/40\\s`, 'm'));
    const status = await runCli(['status', runIdB, '--json'], { cwd });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ runId: runIdB, temporalStatus: 'COMPLETED', progress: { accepted: 40, target: 40 } });
    const human = await runCli(['status', runIdB], { cwd });
    expect(human.stdout).toMatch(/^progress\s+40 of 40 examples \(100%\)$/m);
    // An ended run's tokens, cost and dataset come from its result, and the time reads as runs list's does.
    expect(human.stdout).toMatch(/^tokens\s+\d+ in, \d+ out, estimated cost \$\d+\.\d{4}$/m);
    expect(human.stdout).toMatch(/^dataset\s+40 records in \S+dataset\.jsonl$/m);
    expect(human.stdout).toMatch(/^ended\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/m);
    expect(existsSync(path.join(tempDir, 'server.json'))).toBe(false);

    // `deepfabric server` keeps the server and its UI up on the same state until Ctrl-C.
    const server = spawn(process.execPath, [bin, 'server'], {
      cwd,
      env: { ...process.env, TEMPORAL_ADDRESS: '', DEEPFABRIC_DATA_DIR: path.join(cwd, 'data') },
    });
    const exited = new Promise((r) => server.once('exit', r));
    try {
      const uiUrl = await new Promise<string>((resolve, reject) => {
        server.stdout.on('data', (d: Buffer) => {
          const m = /UI at (\S+);/.exec(d.toString());
          if (m) resolve(m[1]!);
        });
        server.once('exit', (c) => reject(new Error(`deepfabric server exited with ${c}`)));
      });
      const page = await fetch(uiUrl);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      expect(server.exitCode).toBeNull(); // it stays in the foreground until Ctrl-C
    } finally {
      server.kill('SIGINT');
      await exited;
    }
    expect(existsSync(path.join(tempDir, 'server.json'))).toBe(false); // the last lease let it stop
  });
});

describe('a run against an endpoint that is down', () => {
  it('keeps save_as byte-identical, writes the partial file, names the URL and the setting, shows no stack trace', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-down-'));
    const port = await freePort(); // nothing listens there
    const cfg = { ...good, llm: { model: 'openai/gpt-4o-mini', base_url: `http://127.0.0.1:${port}/v1` }, generation: { ...good.generation, max_retries: 1 } };
    writeFileSync(path.join(cwd, 'config.yaml'), JSON.stringify(cfg));
    mkdirSync(path.join(cwd, 'out'));
    const before = '{"kept":"from an earlier run"}\n';
    writeFileSync(path.join(cwd, 'out', 'dataset.jsonl'), before);
    const started = Date.now();
    const { code, stdout, stderr } = await runCli(['generate', 'config.yaml'], { cwd, env: { OPENAI_API_KEY: 'sk-down' } });
    const seconds = (Date.now() - started) / 1000;
    expect(code).toBe(1);
    // Nothing ever answered: the first failed connection stops the run instead of retrying every batch.
    expect(stderr).toMatch(/error: run \S+ stopped: openai\/gpt-4o-mini: could not connect to http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\)/);
    console.log(`endpoint down: generate exited after ${seconds.toFixed(1)} s`);
    expect(readFileSync(path.join(cwd, 'out', 'dataset.jsonl'), 'utf8')).toBe(before);
    expect(readFileSync(path.join(cwd, 'out', 'dataset.partial.jsonl'), 'utf8')).toBe('');
    expect(stderr).toContain(`nothing answered at http://127.0.0.1:${port}/v1: check llm.base_url`);
    expect(stderr).toContain('out/dataset.jsonl was left as it was');
    expect(stdout + stderr).not.toMatch(/^\s+at /m);
    expect((stdout + stderr).trim().split('\n').length).toBeLessThanOrEqual(15);
    // The retries and warnings went to the log file instead.
    expect(readFileSync(path.join(cwd, 'data', 'logs', 'worker.log'), 'utf8')).toMatch(/ECONNREFUSED|could not connect/);

    // The endpoint comes up and the same config (its URL fixed) completes: the stale 0-record partial goes.
    const llm = await new LlmTestServer().start();
    try {
      writeFileSync(path.join(cwd, 'config.yaml'), JSON.stringify({ ...cfg, llm: { model: 'openai/gpt-4o-mini', base_url: llm.openaiBaseUrl } }));
      const fixed = await runCli(['generate', 'config.yaml'], { cwd, env: { OPENAI_API_KEY: 'sk-up' } });
      expect(shown(fixed)).toEqual({ code: 0, tail: expect.stringContaining('completed: 6 records') });
      expect(existsSync(path.join(cwd, 'out', 'dataset.partial.jsonl'))).toBe(false);
      // The same command again: nothing generated, and it says so instead of printing a cost as if it paid again.
      const calls = llm.count();
      const again = await runCli(['generate', 'config.yaml'], { cwd, env: { OPENAI_API_KEY: 'sk-up' } });
      expect(shown(again)).toEqual({ code: 0, tail: expect.stringMatching(/nothing generated: run \S+ had already completed these 6 records/) });
      expect(again.stdout).toContain('this command spent nothing');
      expect(llm.count()).toBe(calls);
    } finally {
      await llm.stop();
    }
  });

  it('a port fetch refuses without an errno (9, a "bad port") stops the run in its first wave, saying why', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cli-badport-'));
    const cfg = {
      ...good,
      llm: { model: 'openai/gpt-4o-mini', base_url: 'http://127.0.0.1:9/v1' },
      output: { ...good.output, num_samples: 40, samples_per_call: 1 },
    };
    writeFileSync(path.join(cwd, 'config.yaml'), JSON.stringify(cfg));
    const r = await runCli(['generate', 'config.yaml'], { cwd, env: { OPENAI_API_KEY: 'sk-bad-port' } });
    expect(shown(r)).toEqual({ code: 1, tail: expect.stringContaining('could not connect to http://127.0.0.1:9/v1 (bad port)') });
    expect(r.stderr).toContain('a "bad port" of the Fetch standard');
    // Stopped as a whole (a fatal first-wave failure), not "ended with N of 40" after every batch's retries.
    expect(r.stderr).toMatch(/error: run \S+ stopped: (not started: )?openai\/gpt-4o-mini: could not connect to http:\/\/127\.0\.0\.1:9\/v1 \(bad port\)/);
    expect(r.stderr).not.toMatch(/ended with \d+ of 40/);
  });
});
