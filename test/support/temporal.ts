import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { createWorker } from '../../src/worker/worker';
import type { Env } from '../../src/llm/provider-factory';

let runtimeInstalled = false;

/** Address of the dev server globalSetup started. */
export function temporalAddress(): string {
  const address = process.env.DF_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('DF_TEST_TEMPORAL_ADDRESS is not set: run tests through jest (globalSetup starts the dev server)');
  return address;
}

/** A fresh folder for one test's run data. */
export function tempDataDir(prefix = 'data-'): string {
  return mkdtempSync(path.join(process.env.DF_TEST_DIR ?? '/tmp', prefix));
}

export async function testClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection }), connection };
}

/** A unique task queue per test, so tests never steal each other's tasks. */
export function uniqueTaskQueue(name: string): string {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface RunningWorker {
  worker: Worker;
  connection: NativeConnection;
  stop(): Promise<void>;
}

/**
 * Starts an in-process worker on `taskQueue` with `env` as its environment (API keys, base URLs) and
 * `dataDir` as its store: generators of the test must use the same folder (one store per run).
 */
export async function startWorker(taskQueue: string, env: Env, dataDir: string, maxConcurrentActivities?: number): Promise<RunningWorker> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const { worker, connection } = await createWorker({
    cluster: { address: temporalAddress() },
    taskQueue,
    env,
    dataDir,
    ...(maxConcurrentActivities ? { maxConcurrentActivities } : {}),
  });
  const running = worker.run();
  return {
    worker,
    connection,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 60_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Starts test/support/worker-main.ts as a child process and resolves once it polls (its store: DEEPFABRIC_DATA_DIR in `env`). */
export async function spawnWorkerProcess(
  taskQueue: string,
  env: Record<string, string>,
  address = temporalAddress(),
): Promise<import('node:child_process').ChildProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'worker-main.ts')], {
    env: { ...process.env, ...env, TEMPORAL_ADDRESS: address, DEEPFABRIC_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('worker ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
  });
  return child;
}
