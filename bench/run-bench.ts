/**
 * `npm run bench`: 2,000 batches (5 examples each) against the local LLM server at 200 ms latency,
 * concurrency 32, on a fresh embedded dev server, with the worker in its own process.
 * Measures wall time, examples/s, ratio to the ideal ceil(batches/32) x 0.2 s, history events per
 * batch (over the whole continue-as-new chain) and the worker's peak RSS. Writes bench/results/latest.json.
 *   BENCH_BATCHES, BENCH_CONCURRENCY, BENCH_LATENCY_MS, BENCH_BATCHES_PER_RUN, BENCH_MEMORY_DB, BENCH_OUT
 *   override the defaults; `npm run bench:long` is the 100,000-example run (history bound check).
 */
import { Client, Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataSetGenerator } from '../src/client/data-set-generator';
import { DevServer } from '../src/worker/dev-server';
import { LlmTestServer } from '../test/support/llm-server';

const batches = Number(process.env.BENCH_BATCHES ?? 2000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 200);
const batchSize = 5;

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'df-bench-'));
  const server = await DevServer.start(process.env.BENCH_MEMORY_DB ? {} : { dbFile: path.join(dir, 'temporal.sqlite') });
  const llm = await new LlmTestServer().start();
  llm.configure({ latencyMs });
  const taskQueue = 'bench';
  const worker = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '-r', 'tsx/cjs', path.join(__dirname, '..', 'test', 'support', 'worker-main.ts')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      DEEPFABRIC_TASK_QUEUE: taskQueue,
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
    ...(process.env.BENCH_BATCHES_PER_RUN ? { batchesPerRun: Number(process.env.BENCH_BATCHES_PER_RUN) } : {}),
    temporal: { client, taskQueue },
  });
  const topics = Array.from({ length: 500 }, (_, i) => ['Bench', `Branch ${i % 10}`, `Topic ${i}`]);
  const started = Date.now();
  const run = await gen.startData({ numSteps: batches * batchSize, batchSize, topics, runName: 'bench' });
  const result = await run.result();
  const wallSec = (Date.now() - started) / 1000;
  clearInterval(sampler);

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
  const ideal = Math.ceil(batches / concurrency) * (latencyMs / 1000);
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    batches,
    batchSize,
    concurrency,
    latencyMs,
    records: result.records,
    wallSeconds: Number(wallSec.toFixed(2)),
    examplesPerSecond: Number((result.records / wallSec).toFixed(1)),
    idealSeconds: ideal,
    ratioToIdeal: Number((ideal / wallSec).toFixed(3)),
    historyEvents: events,
    workflowRuns: runs,
    maxEventsPerRun,
    historyEventsPerBatch: Number((events / batches).toFixed(2)),
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
