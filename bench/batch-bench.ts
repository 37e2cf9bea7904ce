/**
 * `npm run bench:batch`: what batch mode costs this tool (issue 21), beside the same run live. The
 * same dataset (BENCH_CALLS model calls of one example, default 10,000) once through the local LLM
 * server's OpenAI Batch API (provider batches of BENCH_BATCH_LINES lines, default 2,500, answered over
 * 5 s each, polled every second) and once live (no latency, 32 in flight), each on a fresh dev server
 * with the worker in its own process. Reports the worker's and the dev server's CPU time per model
 * call (/proc: stable on a noisy machine, unlike wall time), wall time, history events per call and
 * the worker's peak RSS. Writes bench/results/batch-mode.json.
 */
import { DataSetGenerator } from '../src/client/data-set-generator';
import { cpuSeconds, machine, peakRssMb, runBench, startStack } from './stack';

const calls = Number(process.env.BENCH_CALLS ?? 10_000);
const lines = Number(process.env.BENCH_BATCH_LINES ?? 2500);

async function one(mode: 'batch' | 'live') {
  const stack = await startStack({ taskQueue: `bench-${mode}` });
  const { server, llm, worker, client, taskQueue, dataDir } = stack;
  try {
    llm.batches.configure({ processingMs: 5000 });
    let peak = peakRssMb(worker.pid!);
    const sampler = setInterval(() => (peak = Math.max(peak, peakRssMb(worker.pid!))), 500);
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 32,
      ...(mode === 'batch' ? { callMode: 'batch' as const, batchApi: { maxRequests: lines, pollSeconds: 1, maxInFlight: 10 } } : {}),
      temporal: { client, taskQueue },
    });
    const topics = Array.from({ length: 500 }, (_, i) => ['Bench', `Branch ${i % 10}`, `Topic ${i}`]);
    const before = { worker: cpuSeconds(worker.pid!), server: cpuSeconds(server.pid!) };
    const started = Date.now();
    const run = await gen.startData({ numSteps: calls, batchSize: 1, topics, runName: `bench-${mode}` });
    const result = await run.result();
    const wallSeconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    const cpu = { worker: cpuSeconds(worker.pid!) - before.worker, server: cpuSeconds(server.pid!) - before.server };
    let events = 0;
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${run.runId}'` }))
      events += (await client.workflow.getHandle(run.runId, wf.runId).fetchHistory()).events?.length ?? 0;
    const perCallMs = (sec: number) => Number(((sec * 1000) / calls).toFixed(3));
    return {
      mode,
      records: result.records,
      providerBatches: Object.keys(result.stats.providerBatches ?? {}).length,
      liveCalls: llm.calls.length,
      batchLinesAnswered: llm.batches.billed().lines,
      wallSeconds: Number(wallSeconds.toFixed(2)),
      cpuSeconds: { worker: Number(cpu.worker.toFixed(2)), devServer: Number(cpu.server.toFixed(2)) },
      cpuMsPerCall: { worker: perCallMs(cpu.worker), devServer: perCallMs(cpu.server), workerPlusServer: perCallMs(cpu.worker + cpu.server) },
      historyEvents: events,
      historyEventsPerCall: Number((events / calls).toFixed(3)),
      workerPeakRssMb: Number(peak.toFixed(1)),
      costUsd: result.stats.costUsd,
    };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const batch = await one('batch');
  const live = await one('live');
  const out = { date: new Date().toISOString(), machine: machine(), calls, batchLines: lines, batch, live };
  const { promises: fs } = await import('node:fs');
  const path = await import('node:path');
  await fs.writeFile(path.join(__dirname, 'results', 'batch-mode.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

runBench(main);
