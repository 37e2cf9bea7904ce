/**
 * `npm run bench`: the DeepFabric-shaped run — 1,000 model calls of 1 example each against the local
 * LLM server at 200 ms latency, 32 calls in flight, default calls per batch — on a fresh embedded dev
 * server, with the worker in its own process.
 * Measures wall time, examples/s, ratio to the ideal ceil(calls/32) x 0.2 s, CPU time per model call
 * of the worker and of the dev server (from /proc: stable on a noisy machine, unlike wall time),
 * history events per call (over the whole continue-as-new chain) and the worker's peak RSS.
 * Writes bench/results/latest.json.
 *   BENCH_CALLS, BENCH_EXAMPLES_PER_CALL, BENCH_CALLS_PER_BATCH, BENCH_CONCURRENCY, BENCH_LATENCY_MS,
 *   BENCH_BATCHES_PER_RUN, BENCH_MEMORY_DB, BENCH_DEDUP=off|near, BENCH_OUT override the defaults.
 */
import { Client, Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataSetGenerator } from '../src/client/data-set-generator';
import { DevServer } from '../src/worker/dev-server';
import { LlmTestServer } from '../test/support/llm-server';

const modelCalls = Number(process.env.BENCH_CALLS ?? 1000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 200);
const batchSize = Number(process.env.BENCH_EXAMPLES_PER_CALL ?? 1);
const callsPerBatch = process.env.BENCH_CALLS_PER_BATCH ? Number(process.env.BENCH_CALLS_PER_BATCH) : undefined;

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'df-bench-'));
  const server = await DevServer.start(process.env.BENCH_MEMORY_DB ? {} : { dbFile: path.join(dir, 'temporal.sqlite') });
  // A failed bench must not leave its dev server running (it is detached from nothing but this process).
  process.once('exit', () => void server.stop('SIGKILL'));
  const llm = await new LlmTestServer().start();
  llm.configure({ latencyMs });
  const taskQueue = 'bench';
  const worker = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '-r', 'tsx/cjs', path.join(__dirname, '..', 'test', 'support', 'worker-main.ts')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      DEEPFABRIC_TASK_QUEUE: taskQueue,
      DEEPFABRIC_DATA_DIR: path.join(dir, 'data'),
      OPENAI_API_KEY: 'bench-key',
      OPENAI_BASE_URL: llm.openaiBaseUrl,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => worker.stdout!.on('data', (d: Buffer) => d.toString().includes('worker ready') && resolve()));
  let peak = peakRssMb(worker.pid!);
  const sampler = setInterval(() => (peak = Math.max(peak, peakRssMb(worker.pid!))), 500);

  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: path.join(dir, 'data'),
    concurrency,
    ...(callsPerBatch ? { callsPerBatch } : {}),
    ...(process.env.BENCH_DEDUP === 'off' ? { dedup: { exact: false } } : process.env.BENCH_DEDUP === 'near' ? { dedup: { exact: true, near: 0.85 } } : {}),
    ...(process.env.BENCH_BATCHES_PER_RUN ? { batchesPerRun: Number(process.env.BENCH_BATCHES_PER_RUN) } : {}),
    temporal: { client, taskQueue },
  });
  const topics = Array.from({ length: 500 }, (_, i) => ['Bench', `Branch ${i % 10}`, `Topic ${i}`]);
  const cpuBefore = { worker: cpuSeconds(worker.pid!), server: cpuSeconds(server.pid!), client: process.cpuUsage() };
  const started = Date.now();
  const run = await gen.startData({ numSteps: modelCalls * batchSize, batchSize, topics, runName: 'bench' });
  const result = await run.result();
  const wallSec = (Date.now() - started) / 1000;
  const clientCpu = process.cpuUsage(cpuBefore.client);
  const cpu = {
    worker: cpuSeconds(worker.pid!) - cpuBefore.worker,
    server: cpuSeconds(server.pid!) - cpuBefore.server,
    client: (clientCpu.user + clientCpu.system) / 1e6,
  };
  clearInterval(sampler);
  const batches = result.stats.batchesDone;

  let events = 0;
  let runs = 0;
  let maxEventsPerRun = 0;
  // Where a batch cycle's time goes, from the history's event times.
  const dispatch: number[] = [];
  const completions: number[] = [];
  const allSchedules: number[] = [];
  const exec: number[] = [];
  const gap: number[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${run.runId}'` })) {
    const history = await client.workflow.getHandle(run.runId, wf.runId).fetchHistory();
    events += history.events?.length ?? 0;
    const ms = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
      Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
    const scheduled = new Map<number, number>();
    const started = new Map<number, number>();
    const scheduleTimes: number[] = [];
    for (const e of history.events ?? []) {
      const id = Number(e.eventId);
      if (e.activityTaskScheduledEventAttributes) {
        scheduled.set(id, ms(e));
        scheduleTimes.push(ms(e));
      } else if (e.activityTaskStartedEventAttributes) {
        const s = Number(e.activityTaskStartedEventAttributes.scheduledEventId);
        started.set(s, ms(e));
        dispatch.push(ms(e) - scheduled.get(s)!);
      } else if (e.activityTaskCompletedEventAttributes) {
        const s = Number(e.activityTaskCompletedEventAttributes.scheduledEventId);
        const st = started.get(s);
        if (st !== undefined) exec.push(ms(e) - st);
        completions.push(ms(e));
      }
    }
    allSchedules.push(...scheduleTimes);
    maxEventsPerRun = Math.max(maxEventsPerRun, history.events?.length ?? 0);
    runs++;
  }
  // For each completion, the first activity scheduled after it: the workflow-task round trip.
  allSchedules.sort((a, b) => a - b);
  let j = 0;
  for (const c of completions.sort((a, b) => a - b)) {
    while (j < allSchedules.length && allSchedules[j]! < c) j++;
    if (j < allSchedules.length) gap.push(allSchedules[j]! - c);
  }
  const mean = (xs: number[]) => Number((xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(1));
  const ideal = Math.ceil(modelCalls / concurrency) * (latencyMs / 1000);
  const perCallMs = (sec: number) => Number(((sec * 1000) / llm.calls.length).toFixed(2));
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    modelCalls,
    examplesPerCall: batchSize,
    callsPerBatch: callsPerBatch ?? 'default',
    batches,
    concurrency,
    latencyMs,
    records: result.records,
    wallSeconds: Number(wallSec.toFixed(2)),
    cpuSeconds: { worker: Number(cpu.worker.toFixed(2)), devServer: Number(cpu.server.toFixed(2)), client: Number(cpu.client.toFixed(2)) },
    // The measure: worker + dev server CPU per model call (the client only waits).
    cpuMsPerCall: { worker: perCallMs(cpu.worker), devServer: perCallMs(cpu.server), workerPlusServer: perCallMs(cpu.worker + cpu.server) },
    examplesPerSecond: Number((result.records / wallSec).toFixed(1)),
    idealSeconds: ideal,
    ratioToIdeal: Number((ideal / wallSec).toFixed(3)),
    historyEvents: events,
    workflowRuns: runs,
    maxEventsPerRun,
    historyEventsPerBatch: Number((events / batches).toFixed(2)),
    historyEventsPerCall: Number((events / modelCalls).toFixed(2)),
    workerPeakRssMb: Number(peak.toFixed(1)),
    meanScheduleToStartMs: mean(dispatch),
    meanStartToCloseMs: mean(exec),
    meanCompletionToNextScheduleMs: mean(gap),
    llmCalls: llm.calls.length,
    // Time-weighted mean of calls in flight at the LLM server (32 would be ideal).
    meanCallsInFlight: Number(
      (llm.calls.reduce((a, c) => a + ((c.endedAt ?? c.startedAt) - c.startedAt), 0) / (Date.now() - started)).toFixed(1),
    ),
    meanCallMs: Number((llm.calls.reduce((a, c) => a + ((c.endedAt ?? c.startedAt) - c.startedAt), 0) / llm.calls.length).toFixed(1)),
    maxConcurrentCalls: llm.maxConcurrent,
  };
  await fs.writeFile(path.join(__dirname, 'results', process.env.BENCH_OUT ?? 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  worker.kill('SIGINT');
  await new Promise((r) => worker.once('exit', r));
  await connection.close();
  await llm.stop();
  await server.stop();
  await fs.rm(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
