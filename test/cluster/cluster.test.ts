/**
 * The cluster test (issue 22, npm run test:cluster): the scale-out path as an operator runs it without
 * Docker, every part a real process. PostgreSQL (Debian's package, started here) holds Temporal's
 * state and the runs' store; the Temporal server runs its four services as four processes (built from
 * the Go module proxy at the version docker-compose.yml pins, with compose's dynamic config); three
 * `deepfabric worker` processes on separate data folders share the PostgreSQL run store; the client
 * (`deepfabric generate`) runs in a fourth folder; the model is the local LLM server.
 *
 * Run 1: kill -9, each mid-run and each restarted: a worker, history, matching, the frontend,
 * PostgreSQL itself and Temporal's own worker service. Exact count, no duplicate, repeated model calls
 * at most the calls in flight at the kills, activity starts spread over the workers (eager execution
 * off), every history replays, `status` and `runs list` afterwards.
 * Run 2: a frontend outage longer than the client's patience: `generate` says the run keeps its
 * progress and how to re-attach; the run goes on; the same command attaches and ends it exactly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, promises as fs, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { CLI_BIN, readJsonl, runCli, shown, spawnCli } from '../support/cli';
import { GOOD_CLI_CONFIG, workerEnv } from '../support/fixtures';
import { LlmTestServer } from '../support/llm-server';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { TemporalCluster, type Service } from '../support/temporal-cluster';
import { uniqueTaskQueue, waitFor } from '../support/temporal';

Runtime.install({ logger: new DefaultLogger('WARN') });
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

let llm: LlmTestServer;
let pg: TestPostgres;
let cluster: TemporalCluster;
let connection: Connection;
let client: Client;
let bundlePath: string;
const root = mkdtempSync(path.join(os.tmpdir(), 'cluster-test-'));

beforeAll(async () => {
  llm = await new LlmTestServer().start();
  pg = await startPostgres('deepfabric');
  cluster = await TemporalCluster.start({ host: '127.0.0.1', port: pg.port, user: 'postgres' }, path.join(root, 'temporal'));
  await cluster.createNamespace();
  connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection });
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet as never });
  bundlePath = path.join(root, 'workflows.js');
  await fs.writeFile(bundlePath, bundle.code);
}, 15 * 60_000);

afterAll(async () => {
  await connection?.close();
  await cluster?.stop();
  await pg?.stop();
  await llm?.stop();
});

/** The environment every process of the cluster's users shares: where Temporal and the run store are. */
function clusterEnv(taskQueue: string): Record<string, string> {
  return { TEMPORAL_ADDRESS: cluster.address, TEMPORAL_NAMESPACE: 'default', DEEPFABRIC_TASK_QUEUE: taskQueue, DEEPFABRIC_STORE: pg.url };
}

/** `deepfabric worker` in its own folder, as on its own machine; resolves once it polls. */
async function startWorker(taskQueue: string, folder: string): Promise<ChildProcess> {
  await fs.mkdir(folder, { recursive: true });
  const child = spawn(process.execPath, [CLI_BIN, 'worker'], {
    cwd: folder,
    env: { ...process.env, ...clusterEnv(taskQueue), ...workerEnv(llm), DEEPFABRIC_DATA_DIR: path.join(folder, 'data') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('worker polling')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`deepfabric worker exited with ${code} before polling: ${err.slice(-800)}`)));
  });
  return child;
}

/** `cluster.yaml` in `cwd`: `n` examples, two per call, over the two topic paths of the CLI fixture. */
function writeConfig(cwd: string, name: string, n: number): void {
  writeFileSync(
    path.join(cwd, 'cluster.yaml'),
    JSON.stringify({
      ...GOOD_CLI_CONFIG,
      run: { name },
      generation: { instructions: 'Q&A', conversation: { type: 'basic' }, concurrency: 12 },
      output: { num_samples: n, samples_per_call: 2, save_as: 'out/cluster.jsonl', format: 'sharegpt' },
    }),
  );
}

/** Model calls of `run` answered at the server, and how many of them repeated a call already answered. */
function callsOf(run: string): { answered: number; repeated: number; inFlight: number } {
  const mine = llm.calls.filter((c) => c.batch?.startsWith(`${run}`));
  const ok = mine.filter((c) => c.outcome === 'ok');
  const keys = new Set(ok.map((c) => `${c.batch}#${c.call ?? 0}`));
  return { answered: ok.length, repeated: ok.length - keys.size, inFlight: mine.filter((c) => c.endedAt === undefined).length };
}

/** Every history of the run's chain: no workflow task failed for nondeterminism, and each replays on today's code. */
async function expectChainReplays(workflowId: string): Promise<number> {
  let replayed = 0;
  for await (const ex of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const history = await client.workflow.getHandle(workflowId, ex.runId).fetchHistory();
    const nde = (history.events ?? []).filter(
      (e) => e.workflowTaskFailedEventAttributes?.cause === temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
    );
    expect({ runId: ex.runId, nde: nde.length }).toEqual({ runId: ex.runId, nde: 0 });
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: bundlePath } }, history, ex.runId)).resolves.toBeUndefined();
    replayed++;
  }
  return replayed;
}

/** Slice activities started, by the identity of the worker that started them (pid@host). */
async function activityStartsByWorker(workflowId: string): Promise<Record<string, number>> {
  const starts: Record<string, number> = {};
  for await (const ex of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const history = await client.workflow.getHandle(workflowId, ex.runId).fetchHistory();
    const scheduled = new Map<string, string>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      const st = e.activityTaskStartedEventAttributes;
      if (st && scheduled.get(String(st.scheduledEventId)) === 'generateSlice') starts[st.identity ?? '?'] = (starts[st.identity ?? '?'] ?? 0) + 1;
    }
  }
  return starts;
}

it(
  'kill -9 of a worker, history, matching, the frontend, PostgreSQL and the worker service mid-run: exact, no duplicate, spread, replays',
  async () => {
    const taskQueue = uniqueTaskQueue('cluster');
    const workerDirs = [1, 2, 3].map((i) => path.join(root, `worker-${i}`));
    const workers = await Promise.all(workerDirs.map((d) => startWorker(taskQueue, d)));
    const clientDir = path.join(root, 'client');
    await fs.mkdir(clientDir, { recursive: true });
    const RUN = 'cluster-kills';
    const N = 480; // 240 calls
    writeConfig(clientDir, RUN, N);
    llm.configure({ latencyMs: 1500 });

    const gen = spawnCli(['generate', 'cluster.yaml'], { cwd: clientDir, env: clusterEnv(taskQueue) });
    const schedule: { at: number; kill: string; inFlight: number; downMs: number }[] = [];
    const killAt = async (answered: number, victim: Service | 'worker process' | 'postgresql', restart: () => Promise<void>) => {
      await waitFor(() => callsOf(RUN).answered >= answered || gen.child.exitCode !== null, 10 * 60_000, 50);
      if (gen.child.exitCode !== null) throw new Error(`generate ended before the ${victim} kill: ${shown(await gen.done).tail}`);
      const inFlight = callsOf(RUN).inFlight;
      const t0 = Date.now();
      await restart();
      schedule.push({ at: callsOf(RUN).answered, kill: victim, inFlight, downMs: Date.now() - t0 });
    };
    await killAt(15, 'worker process', async () => {
      const victim = workers.shift()!;
      victim.kill('SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      workers.push(await startWorker(taskQueue, workerDirs[0]!));
    });
    for (const [at, service] of [
      [50, 'history'],
      [85, 'matching'],
      [120, 'frontend'],
    ] as const) {
      await killAt(at, service, async () => {
        await cluster.kill(service);
        cluster.startService(service);
        await cluster.waitServing();
      });
    }
    await killAt(155, 'postgresql', async () => {
      await pg.kill();
      await pg.restart();
    });
    await killAt(190, 'worker', async () => {
      await cluster.kill('worker');
      cluster.startService('worker');
    });

    const done = await gen.done;
    console.log(`cluster run: kills ${JSON.stringify(schedule)}; calls ${JSON.stringify(callsOf(RUN))}`);
    expect(shown(done)).toEqual({ code: 0, tail: expect.stringContaining(`completed: ${N} records`) });
    const records = readJsonl(path.join(clientDir, 'out', 'cluster.jsonl'));
    expect({ records: records.length, distinct: new Set(records.map((r) => JSON.stringify(r))).size }).toEqual({ records: N, distinct: N });
    expect(schedule.map((k) => k.kill)).toEqual(['worker process', 'history', 'matching', 'frontend', 'postgresql', 'worker']);
    const calls = callsOf(RUN);
    expect(calls.repeated).toBeLessThanOrEqual(schedule.reduce((a, k) => a + k.inFlight, 0));

    const runId = /run (\S+)/.exec(done.stdout + done.stderr)?.[1] ?? '';
    let workflowId = '';
    for await (const ex of client.workflow.list({ query: `WorkflowId STARTS_WITH "${RUN}"` })) workflowId = ex.workflowId;
    expect(workflowId).toMatch(new RegExp(`^${RUN}-`));
    const starts = await activityStartsByWorker(workflowId);
    const total = Object.values(starts).reduce((a, b) => a + b, 0);
    console.log(`slice starts by worker (${total}): ${JSON.stringify(starts)}; run id in output: ${runId}`);
    // Eager activity execution off: no worker starts (nearly) all slices; three of them took part.
    expect(Object.keys(starts).length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...Object.values(starts)) / total).toBeLessThan(0.75);
    expect(await expectChainReplays(workflowId)).toBeGreaterThanOrEqual(1);

    // The operator's view afterwards, from the client's folder.
    const status = await runCli(['status', workflowId], { cwd: clientDir, env: clusterEnv(taskQueue) });
    expect(shown(status)).toEqual({ code: 0, tail: expect.stringMatching(new RegExp(`${N}/${N}|completed`)) });
    const list = await runCli(['runs', 'list'], { cwd: clientDir, env: clusterEnv(taskQueue) });
    expect(shown(list)).toEqual({ code: 0, tail: expect.stringContaining(workflowId) });
    for (const w of workers) w.kill('SIGKILL');
  },
  30 * 60_000,
);

it(
  'a frontend outage longer than the client will wait: generate says so, the run goes on, the same command attaches',
  async () => {
    const taskQueue = uniqueTaskQueue('cluster-outage');
    const workers = await Promise.all([1, 2].map((i) => startWorker(taskQueue, path.join(root, `outage-worker-${i}`))));
    const clientDir = path.join(root, 'outage-client');
    await fs.mkdir(clientDir, { recursive: true });
    const RUN = 'cluster-outage';
    const N = 160;
    writeConfig(clientDir, RUN, N);
    llm.configure({ latencyMs: 1000 });
    const env = { ...clusterEnv(taskQueue), DEEPFABRIC_OUTAGE_PATIENCE: '5' };

    const first = spawnCli(['generate', 'cluster.yaml'], { cwd: clientDir, env });
    await waitFor(() => callsOf(RUN).answered >= 10, 5 * 60_000, 50);
    const atKill = callsOf(RUN);
    await cluster.kill('frontend');
    const gaveUp = await first.done;
    const whenGaveUp = callsOf(RUN);
    expect(shown(gaveUp)).toEqual({
      code: 1,
      tail: expect.stringMatching(/the run keeps its progress on the server; run the same command again .*to re-attach/),
    });
    // Without the frontend the workers keep calling the model for the slices they hold.
    cluster.startService('frontend');
    await cluster.waitServing();

    const again = await runCli(['generate', 'cluster.yaml'], { cwd: clientDir, env });
    expect(shown(again)).toEqual({ code: 0, tail: expect.stringContaining(`completed: ${N} records`) });
    const records = readJsonl(path.join(clientDir, 'out', 'cluster.jsonl'));
    expect({ records: records.length, distinct: new Set(records.map((r) => JSON.stringify(r))).size }).toEqual({ records: N, distinct: N });
    const calls = callsOf(RUN);
    console.log(
      `outage run: calls ${JSON.stringify(calls)}; at the frontend's kill ${JSON.stringify(atKill)}; when generate gave up ${JSON.stringify(whenGaveUp)}`,
    );
    // Re-attaching started nothing twice: a repeat is a call in flight when the frontend went (its slice's heartbeats cut).
    expect(calls.repeated).toBeLessThanOrEqual(atKill.inFlight);
    for (const w of workers) w.kill('SIGKILL');
  },
  20 * 60_000,
);
