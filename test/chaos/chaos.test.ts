/**
 * Chaos (issue 8): three worker processes on one task queue, one of them SIGKILLed every 2-4 s and
 * started again, a client querying the run's stats every second, pause/resume and a concurrency
 * update mid-run, 10% server errors, continue-as-new every 100 batches. Every run must end with
 * exactly its target, no duplicate, no workflow task failed for nondeterminism, and every history
 * of its chain must replay on today's code.
 *
 * Batch mode (issue 21), once per provider: the same monkey while provider batches are created (each
 * creation answered late, so kills land inside it), waited on, collected and resubmitted, with
 * continue-as-new: exact, nothing live, no two provider batches with the same lines, every call in
 * its first provider batch plus one resubmission exactly when it errored there, and every history
 * replays.
 *
 * CHAOS_RUNS (default 3) runs one after the other; CHAOS_SEED makes the kill schedule repeatable.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { topicPaths, workerEnv } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue, waitFor } from '../support/temporal';

Runtime.install({ logger: new DefaultLogger('WARN') }); // the replays below log every worker state change at INFO
const env = useIntegrationEnv('chaos', { worker: false });
const RUNS = Number(process.env.CHAOS_RUNS ?? 3);
const BATCHES = 240;
let seed = Number(process.env.CHAOS_SEED ?? 20261127);
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

let bundlePath: string;
beforeAll(async () => {
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet as never });
  bundlePath = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'chaos-bundle-')), 'workflows.js');
  await fs.writeFile(bundlePath, bundle.code);
});

/** Keeps three workers alive and kills a random one every 2-4 s until `stop()`. */
function chaosMonkey(taskQueue: string, dataDir: string) {
  const workers: ChildProcess[] = [];
  let kills = 0;
  let stopped = false;
  const spawn = () => spawnWorkerProcess(taskQueue, { ...workerEnv(env.llm), DF_TEST_WORKFLOW_BUNDLE: bundlePath, DEEPFABRIC_DATA_DIR: dataDir });
  const loop = (async () => {
    for (let i = 0; i < 3; i++) workers.push(await spawn());
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 2000 + rand() * 2000));
      if (stopped) break;
      const victim = workers.splice(Math.floor(rand() * workers.length), 1)[0]!;
      victim.kill('SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      kills++;
      workers.push(await spawn());
    }
  })();
  return {
    get kills() {
      return kills;
    },
    ready: () => waitFor(() => workers.length === 3),
    async stop() {
      stopped = true;
      await loop;
      for (const w of workers) w.kill('SIGKILL');
    },
  };
}

/** Every history of a run's chain: no workflow task failed for nondeterminism, and each replays on today's code. Returns the chain's run ids. */
async function expectChainReplays(workflowId: string): Promise<string[]> {
  const chain: string[] = [];
  for await (const ex of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) chain.push(ex.runId);
  for (const runId of chain) {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const ndeFailures = (history.events ?? []).filter(
      (e) => e.workflowTaskFailedEventAttributes?.cause === temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
    );
    expect({ runId, ndeFailures: ndeFailures.length }).toEqual({ runId, ndeFailures: 0 });
    const replayed = await Worker.runReplayHistory({ workflowBundle: { codePath: bundlePath } }, history, runId).catch(async (err: unknown) => {
      // Evidence for the bug: the history that does not replay, kept beside the test's temp files.
      const file = path.join(os.tmpdir(), `chaos-replay-failure-${runId}.json`);
      await fs.writeFile(
        file,
        JSON.stringify(temporal.api.history.v1.History.toObject(history as temporal.api.history.v1.History, { longs: String, enums: String, bytes: String })),
      );
      console.log(`history that fails replay: ${file}`);
      return err;
    });
    expect(replayed).toBeUndefined();
  }
  return chain;
}

it(`${RUNS} runs of ${BATCHES} batches finish exactly, and replay, while workers are killed at random`, async () => {
  env.llm.configure({ latencyMs: 250, failureRates: { '500': 0.1 } });
  for (let r = 0; r < RUNS; r++) {
    const taskQueue = uniqueTaskQueue(`chaos-${r}`);
    const dataDir = tempDataDir();
    const monkey = chaosMonkey(taskQueue, dataDir);
    try {
      await monkey.ready();
      const gen = new DataSetGenerator({
        modelName: 'openai/gpt-4o-mini',
        dataDir,
        concurrency: 8,
        callsPerBatch: 1, // one call per batch: 240 batches, continue-as-new twice at 100 per run
        heartbeatTimeout: 2,
        batchesPerRun: 100,
        temporal: { client: env.client, taskQueue },
      });
      const run = await gen.startData({ numSteps: BATCHES, batchSize: 1, topics: topicPaths(BATCHES), runName: `chaos-${r}` });

      // The CLI's view: a stats query every second, whatever the workers are doing.
      let queries = 0;
      const queryErrors: string[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          await run.stats().then(
            () => queries++,
            (e: Error) => queryErrors.push(e.message),
          );
          await new Promise((res) => setTimeout(res, 1000));
        }
      })();
      // The operator: a pause at 20% until the run reports it, a resume, then a concurrency change at 50%. A run that ended
      // before the change (a fast machine: "workflow execution already completed") skips it, and
      // the end checks the change only when it was made. (This test found signals replaying before
      // completions they followed: test/fixtures/evidence/signals-sorted-first.json.gz, fixed in
      // src/workflows/dataset-run.ts.)
      let changed = false;
      let pausedAtEnd = false; // paused, and the run ended before the resume (all its work had started)
      // A signal to a run that has already ended (the stats queries can time out while workers die,
      // so "20%" may be seen late on a fast machine and the run end during the pause): false.
      const ifRunning = (send: () => Promise<unknown>) =>
        send().then(
          () => true,
          (err: Error) => {
            if (/already completed/.test(err.message)) return false;
            throw err;
          },
        );
      const operator = (async () => {
        await waitFor(async () => ((await run.stats().catch(() => undefined))?.batchesDone ?? 0) >= BATCHES * 0.2, 300_000, 250);
        if (!(await ifRunning(() => run.pause()))) return;
        // Resume once the run reports the pause (or has ended: all its work had started).
        await waitFor(
          async () => {
            const s = await run.stats().catch(() => undefined);
            return s && (s.paused || s.status !== 'running') ? s : undefined;
          },
          300_000,
          250,
        );
        if (!(await ifRunning(() => run.resume()))) return void (pausedAtEnd = true);
        const half = await waitFor(
          async () => {
            const s = await run.stats().catch(() => undefined);
            return s && (s.batchesDone >= BATCHES * 0.5 || s.status !== 'running' ? s : undefined);
          },
          300_000,
          250,
        );
        if (half.status === 'running') changed = await ifRunning(() => run.setConcurrency(12));
      })();

      const result = await run.result();
      await operator;
      // The change outlived continue-as-new: the last segment runs at 12, unpaused.
      // A query of an ended run replays it on a worker; while the monkey kills them it can time out: ask until one answers.
      const last = await waitFor(() => run.stats().catch(() => undefined), 120_000, 500);
      expect({ status: last.status, paused: last.paused, concurrency: last.concurrency }).toEqual({
        status: 'completed',
        paused: pausedAtEnd,
        concurrency: changed ? 12 : 8,
      });
      polling = false;
      await poller;

      const lines = (await fs.readFile(result.datasetPath, 'utf8')).split('\n').filter(Boolean);
      expect({ run: r, records: lines.length, distinct: new Set(lines).size }).toEqual({ run: r, records: BATCHES, distinct: BATCHES });
      expect(queryErrors.filter((m) => /nondeterminism|TMPRL1100/i.test(m))).toEqual([]);

      const chain = await expectChainReplays(run.runId);
      expect(chain.length).toBeGreaterThanOrEqual(3); // 240 batches at 100 per run: continue-as-new twice
      console.log(
        `chaos run ${r}: ${monkey.kills} kills, ${queries} stats queries answered, ${queryErrors.length} failed (timeouts while no worker had the run), ${chain.length} segments`,
      );
      expect(monkey.kills).toBeGreaterThanOrEqual(2);
    } finally {
      await monkey.stop();
    }
  }
});

it.each(['openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku'])(
  'batch mode on %s: workers killed at random while provider batches are created, waited on and collected; exact, and never a batch twice',
  async (model) => {
    // Creations answered 0.8 s after the batch exists (kills land in that window too), lines answered
    // over 5 s; 5% of the calls error the first time they are sent (resubmitted once).
    const sent = new Set<string>();
    const lineOutcome = (id: string) => (sent.has(id) ? 'ok' : (sent.add(id), hash(id) % 20 === 0 ? 'error' : 'ok'));
    env.llm.batches.configure({ processingMs: 5000, createDelayMs: 800, lineOutcome });
    const calls = 120;
    const taskQueue = uniqueTaskQueue('chaos-batch');
    const dataDir = tempDataDir();
    const monkey = chaosMonkey(taskQueue, dataDir);
    try {
      await monkey.ready();
      const gen = new DataSetGenerator({
        modelName: model,
        dataDir,
        callsPerBatch: 1,
        heartbeatTimeout: 2,
        batchesPerRun: 10,
        callMode: 'batch',
        // 12 provider batches of 10 calls, 3 at once: 30 batches a segment, continue-as-new three times.
        batchApi: { maxRequests: 10, maxInFlight: 3, pollSeconds: 1 },
        temporal: { client: env.client, taskQueue },
      });
      const run = await gen.startData({ numSteps: calls, batchSize: 1, topics: topicPaths(calls), runName: `chaos-batch-${model.split('/')[0]}` });
      const result = await run.result();
      const lines = (await fs.readFile(result.datasetPath, 'utf8')).split('\n').filter(Boolean);
      expect({ records: lines.length, distinct: new Set(lines).size }).toEqual({ records: calls, distinct: calls });
      expect(env.llm.calls).toHaveLength(0); // nothing live

      // Never twice: no two provider batches carry the same lines, and a call is in its first batch,
      // plus one resubmission when it errored there.
      const created = env.llm.batches.batches;
      const sets = created.map((b) =>
        b.lines
          .map((l) => l.customId)
          .sort()
          .join(','),
      );
      expect(new Set(sets).size).toBe(sets.length);
      const firstRound = created.filter((b) => b.lines.length === 10); // resubmissions carry only the errored lines
      expect(firstRound.map((b) => b.lines.length)).toEqual(Array(12).fill(10));
      const errored = new Set(firstRound.flatMap((b) => b.lines.filter((l) => l.outcome === 'error').map((l) => l.customId)));
      for (const b of firstRound)
        for (const l of b.lines) {
          const batches = created.filter((x) => x.lines.some((y) => y.customId === l.customId)).length;
          expect({ line: l.customId, batches }).toEqual({ line: l.customId, batches: errored.has(l.customId) ? 2 : 1 });
        }
      expect(result.stats.batchLines).toMatchObject({ succeeded: calls, errored: errored.size, live: 0 });
      const chain = await expectChainReplays(run.runId);
      expect(chain.length).toBeGreaterThanOrEqual(3);
      console.log(
        `chaos batch ${model}: ${monkey.kills} kills, ${created.length} provider batches (${errored.size} lines resubmitted), ${chain.length} segments`,
      );
      expect(monkey.kills).toBeGreaterThanOrEqual(2);
    } finally {
      await monkey.stop();
      env.llm.reset();
    }
  },
);

/** A small stable hash of a string (which lines error). */
function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}
