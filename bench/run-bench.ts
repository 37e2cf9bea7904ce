/**
 * `npm run bench`: the DeepFabric-shaped run — 1,000 model calls of 1 example each against the local
 * LLM server at 200 ms latency, 32 calls in flight, default calls per batch — on a fresh embedded dev
 * server, with the worker in its own process.
 * Measures wall time, examples/s, ratio to the ideal ceil(calls/32) x 0.2 s, CPU time per model call
 * of the worker and of the dev server (from /proc: stable on a noisy machine, unlike wall time),
 * history events per call (over the whole continue-as-new chain) and the worker's peak RSS.
 * Writes bench/results/latest.json.
 *   BENCH_CALLS, BENCH_EXAMPLES_PER_CALL, BENCH_CALLS_PER_BATCH, BENCH_BATCHES_PER_SLICE, BENCH_CONCURRENCY, BENCH_LATENCY_MS,
 *   BENCH_BATCHES_PER_RUN, BENCH_MEMORY_DB, BENCH_DEDUP=off|near, BENCH_OUT override the defaults; BENCH_WORKERS=N starts N worker processes (CPU summed, RSS the largest).
 *   BENCH_FAILURE_RATE (e.g. 0.1): that share of calls answer HTTP 500 (retried with 0.2 s backoff): the retry path's cost.
 *   BENCH_JUDGE=1: a judge model scores every example (one more call each, answered at the same latency; nothing
 *   rejected), so `npm run bench:judge` compares the worker's CPU per model call with and without a judge.
 */
import { promises as fs } from 'node:fs';
import { DataSetGenerator } from '../src/client/data-set-generator';
import { cpuSeconds, machine, peakRssMb, runBench, startStack } from './stack';

const modelCalls = Number(process.env.BENCH_CALLS ?? 1000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 200);
const batchSize = Number(process.env.BENCH_EXAMPLES_PER_CALL ?? 1);
const callsPerBatch = process.env.BENCH_CALLS_PER_BATCH ? Number(process.env.BENCH_CALLS_PER_BATCH) : undefined;
const batchesPerSlice = process.env.BENCH_BATCHES_PER_SLICE ? Number(process.env.BENCH_BATCHES_PER_SLICE) : undefined;
const failureRate = Number(process.env.BENCH_FAILURE_RATE ?? 0);
const judge = !!process.env.BENCH_JUDGE;
const JUDGE_PROMPT = 'Judge this training example.';

async function main(): Promise<void> {
  const stack = await startStack({
    taskQueue: 'bench',
    memoryDb: !!process.env.BENCH_MEMORY_DB,
    workers: Number(process.env.BENCH_WORKERS ?? 1),
    workerNodeArgs: [
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      ...(process.env.BENCH_WORKER_NODE_ARGS ? process.env.BENCH_WORKER_NODE_ARGS.split(' ') : []),
    ],
  });
  const { server, llm, worker, workers, client, taskQueue, dataDir } = stack;
  const workersCpu = () => workers.reduce((a, w) => a + cpuSeconds(w.pid!), 0);
  llm.configure({
    latencyMs,
    ...(failureRate > 0 ? { failureRates: { '500': failureRate }, seed: 7 } : {}),
    ...(judge ? { respond: ({ prompt }) => (prompt.includes(JUDGE_PROMPT) ? { scores: { quality: 4 }, reason: 'fine' } : undefined) } : {}),
  });
  let peak = peakRssMb(worker.pid!);
  const sampler = setInterval(() => (peak = Math.max(peak, ...workers.map((w) => peakRssMb(w.pid!)))), 500);
  // The worker's own account of its memory every 500 ms: where RSS goes (V8 heap or native).
  const mem: { at: number; rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }[] = [];
  worker.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.startsWith('mem ')) mem.push(JSON.parse(line.slice(4)) as (typeof mem)[number]);
  });

  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir,
    concurrency,
    ...(callsPerBatch ? { callsPerBatch } : {}),
    ...(batchesPerSlice ? { batchesPerSlice } : {}),
    ...(process.env.BENCH_DEDUP === 'off' ? { dedup: { exact: false } } : process.env.BENCH_DEDUP === 'near' ? { dedup: { exact: true, near: 0.85 } } : {}),
    ...(process.env.BENCH_BATCHES_PER_RUN ? { batchesPerRun: Number(process.env.BENCH_BATCHES_PER_RUN) } : {}),
    ...(failureRate > 0 ? { maxRetries: 10, initialBackoffSeconds: 0.2, maxBackoffSeconds: 1 } : {}),
    temporal: { client, taskQueue },
  });
  if (judge) gen.setJudge({ rubric: [{ name: 'quality', description: 'Is it a good training example?', minScore: 1 }] });
  const topics = Array.from({ length: 500 }, (_, i) => ['Bench', `Branch ${i % 10}`, `Topic ${i}`]);
  const cpuBefore = { worker: workersCpu(), server: cpuSeconds(server.pid!), client: process.cpuUsage() };
  const started = Date.now();
  const run = await gen.startData({ numSteps: modelCalls * batchSize, batchSize, topics, runName: 'bench' });
  const result = await run.result();
  const wallSec = (Date.now() - started) / 1000;
  const during = mem.filter((m) => m.at >= started);
  if (process.env.BENCH_MEM_SERIES)
    await fs.writeFile(process.env.BENCH_MEM_SERIES, during.map((m) => JSON.stringify({ ...m, at: m.at - started })).join('\n') + '\n');
  if (process.env.BENCH_CALLS_DUMP)
    await fs.writeFile(
      process.env.BENCH_CALLS_DUMP,
      llm.calls.map((c) => JSON.stringify({ s: c.startedAt - started, e: (c.endedAt ?? c.startedAt) - started, b: c.batch, c: c.call })).join('\n') + '\n',
    );
  const clientCpu = process.cpuUsage(cpuBefore.client);
  const cpu = {
    worker: workersCpu() - cpuBefore.worker,
    server: cpuSeconds(server.pid!) - cpuBefore.server,
    client: (clientCpu.user + clientCpu.system) / 1e6,
  };
  clearInterval(sampler);
  const batches = result.stats.batchesDone;

  let events = 0;
  let activityCount = 0;
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
    for (const e of history.events ?? []) if (e.activityTaskScheduledEventAttributes) activityCount++;
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
  const mb = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1));
  const mean = (xs: number[]) => Number((xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(1));
  const ideal = Math.ceil(modelCalls / concurrency) * (latencyMs / 1000);
  // A loop, not Math.min(...calls): 200,000 arguments overflow the stack.
  const firstCall = llm.calls.reduce((m, c) => Math.min(m, c.startedAt), Infinity);
  const lastCall = llm.calls.reduce((m, c) => Math.max(m, c.endedAt ?? c.startedAt), -Infinity);
  const genSec = (lastCall - firstCall) / 1000;
  const perCallMs = (sec: number) => Number(((sec * 1000) / llm.calls.length).toFixed(2));
  const out = {
    date: new Date().toISOString(),
    machine: machine(),
    modelCalls,
    examplesPerCall: batchSize,
    callsPerBatch: callsPerBatch ?? 'default',
    batchesPerSlice: batchesPerSlice ?? 'default',
    activities: activityCount,
    batches,
    concurrency,
    latencyMs,
    workerProcesses: workers.length,
    ...(failureRate > 0 ? { failureRate, failedCalls: llm.count('500') } : {}),
    records: result.records,
    wallSeconds: Number(wallSec.toFixed(2)),
    cpuSeconds: { worker: Number(cpu.worker.toFixed(2)), devServer: Number(cpu.server.toFixed(2)), client: Number(cpu.client.toFixed(2)) },
    // The measure: worker + dev server CPU per model call (the client only waits).
    cpuMsPerCall: { worker: perCallMs(cpu.worker), devServer: perCallMs(cpu.server), workerPlusServer: perCallMs(cpu.worker + cpu.server) },
    examplesPerSecond: Number((result.records / wallSec).toFixed(1)),
    idealSeconds: ideal,
    ratioToIdeal: Number((ideal / wallSec).toFixed(3)),
    // The acceptance run's measure: the generation phase only (first model call sent to last answer),
    // without the run's start (workflow, first task) and its end (assembly of the dataset, the result).
    generationSeconds: Number(genSec.toFixed(2)),
    ratioToIdealDuringGeneration: Number((ideal / genSec).toFixed(3)),
    secondsBeforeFirstCall: Number(((firstCall - started) / 1000).toFixed(2)),
    secondsAfterLastCall: Number(((started + wallSec * 1000 - lastCall) / 1000).toFixed(2)),
    historyEvents: events,
    workflowRuns: runs,
    maxEventsPerRun,
    historyEventsPerBatch: Number((events / batches).toFixed(2)),
    historyEventsPerCall: Number((events / modelCalls).toFixed(2)),
    workerPeakRssMb: Number(peak.toFixed(1)),
    // Peaks during the run of what the worker reports (MB): V8's heap, memory outside it, RSS at the end.
    workerMemoryMb: {
      peakHeapUsed: mb(Math.max(0, ...during.map((m) => m.heapUsed))),
      peakHeapTotal: mb(Math.max(0, ...during.map((m) => m.heapTotal))),
      peakExternal: mb(Math.max(0, ...during.map((m) => m.external))),
      peakArrayBuffers: mb(Math.max(0, ...during.map((m) => m.arrayBuffers))),
      peakRssMinusHeapTotal: mb(Math.max(0, ...during.map((m) => m.rss - m.heapTotal))),
      endRss: mb(during.at(-1)?.rss ?? 0),
      endHeapUsed: mb(during.at(-1)?.heapUsed ?? 0),
    },
    meanScheduleToStartMs: mean(dispatch),
    meanStartToCloseMs: mean(exec),
    meanCompletionToNextScheduleMs: mean(gap),
    llmCalls: llm.calls.length,
    ...(judge
      ? {
          judgeCalls: llm.calls.filter((c) => c.prompt.includes(JUDGE_PROMPT)).length,
          judgeCallsCounted: result.stats.quality?.judgeCalls ?? 0,
          generationCalls: llm.calls.filter((c) => !c.prompt.includes(JUDGE_PROMPT)).length,
          workerCpuMsPerExample: Number(((cpu.worker * 1000) / result.records).toFixed(2)),
        }
      : { workerCpuMsPerExample: Number(((cpu.worker * 1000) / result.records).toFixed(2)) }),
    // Time-weighted mean of calls in flight at the LLM server (32 would be ideal).
    meanCallsInFlight: Number((llm.calls.reduce((a, c) => a + ((c.endedAt ?? c.startedAt) - c.startedAt), 0) / (Date.now() - started)).toFixed(1)),
    meanCallMs: Number((llm.calls.reduce((a, c) => a + ((c.endedAt ?? c.startedAt) - c.startedAt), 0) / llm.calls.length).toFixed(1)),
    maxConcurrentCalls: llm.maxConcurrent,
  };
  await stack.report(process.env.BENCH_OUT ?? 'latest.json', out);
  await stack.stop();
}

runBench(main);
