/**
 * What every bench starts and stops: a fresh dev server (SQLite in a temp folder), the local LLM
 * server, one worker in its own process on the bench's data folder, and a client; plus the /proc
 * readings the benches report (CPU time and peak RSS of a process).
 */
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DevServer } from '../src/worker/dev-server';
import { LlmTestServer } from '../test/support/llm-server';

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The machine a bench ran on, for its results file: cores, memory, load averages. */
export function machine(): string {
  return `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

/** A process's peak resident memory so far, in MB (/proc/<pid>/status VmHWM). */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export interface BenchStack {
  dataDir: string;
  taskQueue: string;
  server: DevServer;
  llm: LlmTestServer;
  /** The first worker process; `workers` holds all of them (`BENCH_WORKERS`, default 1). */
  worker: ChildProcess;
  workers: ChildProcess[];
  client: Client;
  /** Writes `bench/results/<name>` and prints it. */
  report(name: string, out: unknown): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(opts: { taskQueue: string; memoryDb?: boolean; workerNodeArgs?: string[]; workers?: number }): Promise<BenchStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `df-${opts.taskQueue}-`));
  const server = await DevServer.start(opts.memoryDb ? {} : { dbFile: path.join(dir, 'temporal.sqlite') });
  // A failed bench must not leave its dev server running.
  process.once('exit', () => void server.stop('SIGKILL'));
  const llm = await new LlmTestServer().start();
  const dataDir = path.join(dir, 'data');
  // Several worker processes share the data folder, as workers of one machine do (each its own event loop).
  const workers = Array.from({ length: Math.max(1, opts.workers ?? 1) }, () =>
    spawn(process.execPath, [...(opts.workerNodeArgs ?? []), '-r', 'tsx/cjs', path.join(__dirname, '..', 'test', 'support', 'worker-main.ts')], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: server.address,
        DEEPFABRIC_TASK_QUEUE: opts.taskQueue,
        DEEPFABRIC_DATA_DIR: dataDir,
        OPENAI_API_KEY: 'bench-key',
        OPENAI_BASE_URL: llm.openaiBaseUrl,
        DF_MEM_REPORT_MS: '500',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    workers.map((w) => new Promise<void>((resolve) => w.stdout!.on('data', (d: Buffer) => d.toString().includes('worker ready') && resolve()))),
  );
  const worker = workers[0]!;
  const connection = await Connection.connect({ address: server.address });
  return {
    dataDir,
    taskQueue: opts.taskQueue,
    server,
    llm,
    worker,
    workers,
    client: new Client({ connection }),
    async report(name, out) {
      await fs.writeFile(path.join(__dirname, 'results', name), JSON.stringify(out, null, 2) + '\n');
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    },
    async stop() {
      await Promise.all(workers.map((w) => (w.kill('SIGINT'), new Promise((r) => w.once('exit', r)))));
      await connection.close();
      await llm.stop();
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a bench's main; a failure is printed and exits non-zero (the dev server is stopped on exit). */
export function runBench(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
