/**
 * `npm run bench:cluster`: a large run on the cluster of test:cluster (issue 22): PostgreSQL (Temporal's
 * state and the run store), Temporal's four services as four processes, three `deepfabric worker`
 * processes on separate folders with the PostgreSQL store, the client in this process, the local LLM
 * server answering at once. Measures wall time, CPU per model call of the workers, of Temporal's
 * services and of PostgreSQL (from /proc), each worker's peak RSS, history events (per run of the
 * continue-as-new chain: bounded), and PostgreSQL's growth per example (run store and Temporal's
 * databases). Writes bench/results/cluster-<examples>.json.
 *   BENCH_EXAMPLES (default 1,000,000), BENCH_EXAMPLES_PER_CALL (5), BENCH_CONCURRENCY (96),
 *   BENCH_LATENCY_MS (0), BENCH_DEDUP=near adds near-duplicate detection (the store-kept index).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { DataSetGenerator } from '../src/client/data-set-generator';
import { LlmTestServer } from '../test/support/llm-server';
import { startPostgres } from '../test/support/postgres';
import { TemporalCluster } from '../test/support/temporal-cluster';
import { cpuSeconds, machine, peakRssMb, runBench } from './stack';

const examples = Number(process.env.BENCH_EXAMPLES ?? 1_000_000);
const perCall = Number(process.env.BENCH_EXAMPLES_PER_CALL ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 96);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 0);
const near = process.env.BENCH_DEDUP === 'near';

/** CPU seconds of a process and of its children still alive (PostgreSQL's backends). */
function treeCpu(pid: number): number {
  let total = cpuSeconds(pid);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid)) total += cpuSeconds(Number(d));
    } catch {
      // gone
    }
  }
  return total;
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'df-cluster-bench-'));
  const llm = await new LlmTestServer().start();
  llm.configure({ latencyMs });
  const pg = await startPostgres('deepfabric');
  const cluster = await TemporalCluster.start({ host: '127.0.0.1', port: pg.port, user: 'postgres' }, path.join(root, 'temporal'));
  await cluster.createNamespace();
  const taskQueue = 'cluster-bench';
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: cluster.address,
    DEEPFABRIC_TASK_QUEUE: taskQueue,
    DEEPFABRIC_STORE: pg.url,
    OPENAI_API_KEY: 'bench-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
  };
  const workers: ChildProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const cwd = path.join(root, `worker-${i}`);
    await fs.mkdir(cwd);
    const w = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'deepfabric.js'), 'worker'], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      w.stderr!.on('data', (d: Buffer) => (err += d.toString()).includes('worker polling') && resolve());
      w.once('exit', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
    });
    workers.push(w);
  }
  const connection = await Connection.connect({ address: cluster.address });
  const client = new Client({ connection });
  const db = new Pool({ connectionString: pg.url, max: 1 });
  const size = async (name: string) => Number((await db.query<{ s: string }>('SELECT pg_database_size($1) AS s', [name])).rows[0]!.s);
  const sizes0 = { store: await size('deepfabric'), temporal: (await size('temporal')) + (await size('temporal_visibility')) };
  const temporalPids = Object.values(cluster.pids()).filter((p): p is number => p !== undefined);
  const cpu0 = { workers: workers.map((w) => cpuSeconds(w.pid!)), temporal: temporalPids.map(cpuSeconds), pg: treeCpu(pg.pid()), client: process.cpuUsage() };
  const peaks = workers.map(() => 0);
  const sampler = setInterval(() => workers.forEach((w, i) => (peaks[i] = Math.max(peaks[i]!, peakRssMb(w.pid!)))), 1000);
  const progress = setInterval(() => process.stderr.write(`${new Date().toISOString()} calls ${llm.calls.length}\n`), 30_000);

  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    concurrency,
    store: pg.url,
    ...(near ? { dedup: { exact: true, near: 0.85 } } : {}),
    temporal: { client, taskQueue },
  });
  const topics = Array.from({ length: 1000 }, (_, i) => ['Bench', `Branch ${i % 10}`, `Topic ${i}`]);
  const started = Date.now();
  const run = await gen.startData({ numSteps: examples, batchSize: perCall, topics, runName: `cluster-bench-${examples}` });
  const result = await run.result({ patienceMs: 60 * 60_000 });
  const wall = (Date.now() - started) / 1000;
  clearInterval(sampler);
  clearInterval(progress);
  const clientCpu = process.cpuUsage(cpu0.client);
  const cpu = {
    workers: workers.map((w, i) => cpuSeconds(w.pid!) - cpu0.workers[i]!),
    temporal: temporalPids.map((p, i) => cpuSeconds(p) - cpu0.temporal[i]!).reduce((a, b) => a + b, 0),
    postgres: treeCpu(pg.pid()) - cpu0.pg,
    client: (clientCpu.user + clientCpu.system) / 1e6,
  };
  const sizes = { store: await size('deepfabric'), temporal: (await size('temporal')) + (await size('temporal_visibility')) };
  let events = 0;
  let runs = 0;
  let maxEvents = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${run.runId}'` })) {
    const n = (await client.workflow.getHandle(run.runId, wf.runId).fetchHistory()).events?.length ?? 0;
    events += n;
    maxEvents = Math.max(maxEvents, n);
    runs++;
  }
  const calls = llm.calls.length;
  const perCallMs = (s: number) => Number(((s * 1000) / calls).toFixed(2));
  const workerCpu = cpu.workers.reduce((a, b) => a + b, 0);
  const out = {
    date: new Date().toISOString(),
    machine: machine(),
    topology: 'PostgreSQL + Temporal 1.32.0 as 4 processes (4 history shards) + 3 deepfabric workers (PostgreSQL store) + client',
    examples,
    examplesPerCall: perCall,
    modelCalls: calls,
    concurrency,
    latencyMs,
    dedup: near ? 'exact + near (0.85), index in PostgreSQL' : 'exact, index in PostgreSQL',
    records: result.records,
    status: result.status,
    wallSeconds: Number(wall.toFixed(1)),
    examplesPerSecond: Number((result.records / wall).toFixed(1)),
    cpuSeconds: {
      workers: cpu.workers.map((c) => Number(c.toFixed(1))),
      temporal: Number(cpu.temporal.toFixed(1)),
      postgres: Number(cpu.postgres.toFixed(1)),
      client: Number(cpu.client.toFixed(1)),
    },
    cpuMsPerCall: { workers: perCallMs(workerCpu), temporal: perCallMs(cpu.temporal), postgres: perCallMs(cpu.postgres) },
    workerPeakRssMb: peaks.map((p) => Number(p.toFixed(0))),
    historyEvents: events,
    workflowRuns: runs,
    maxEventsPerRun: maxEvents,
    postgresBytesPerExample: {
      runStore: Math.round((sizes.store - sizes0.store) / result.records),
      temporal: Math.round((sizes.temporal - sizes0.temporal) / result.records),
    },
  };
  await fs.writeFile(path.join(__dirname, 'results', `cluster-${examples}.json`), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  for (const w of workers) w.kill('SIGINT');
  await db.end();
  await connection.close();
  await cluster.stop();
  await pg.stop();
  await llm.stop();
}

runBench(main);
