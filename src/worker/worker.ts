import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import { runtimeLogSink } from './runtime-log';
import type { Env } from '../llm/provider-factory';
import { openStore } from '../storage/open-store';
import type { Store } from '../storage/store';
import { DEFAULT_TASK_QUEUE, defaultDataDir } from '../config/paths';
import { startHeapGovernor, type HeapGovernor } from './heap-governor';
import { connectionSettings } from '../config/connection';
import type { ClusterConnection } from '../config/connection';

let bundlePromise: Promise<WorkflowBundle> | undefined;

/** The workflow bundle, built once per process (bundling takes seconds). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
  return bundlePromise;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

interface WorkerOptions {
  /** The cluster (address, TLS, API key: see config/connection.ts); unused when `connection` is given. */
  cluster: ClusterConnection;
  namespace?: string;
  taskQueue?: string;
  /** Where API keys are read from; defaults to this process's environment. */
  env?: Env;
  /** Batch activities this worker runs at once (each is one model call, mostly waiting on HTTP). */
  maxConcurrentActivities?: number;
  connection?: NativeConnection;
  /** This worker's store: its data folder (default DEEPFABRIC_DATA_DIR or ./deepfabric-data), or `storeUrl`. */
  dataDir?: string;
  /** PostgreSQL run store (default: DEEPFABRIC_STORE); the data folder when unset. */
  storeUrl?: string;
  /** An open store (tests, embedded mode); overrides dataDir/storeUrl. */
  store?: Store;
  /** A prebuilt workflow bundle (e.g. `{ codePath }`); built in-process when absent. */
  workflowBundle?: WorkflowBundle | { codePath: string };
  /**
   * Full garbage collections whenever the heap grew this many MB past what was alive (see
   * heap-governor.ts); 0 turns it off. Default: `DEEPFABRIC_HEAP_BUDGET_MB`, else 64.
   */
  heapBudgetMb?: number;
  /** False for a worker that only winds runs down (see `createActivities`). Default true. */
  modelCalls?: boolean;
}

/**
 * The SDK logs at INFO to the console unless a Runtime was installed: a library user's embedded worker
 * would print every state change. Warnings and errors only (DEEPFABRIC_LOG_LEVEL=debug for all), to
 * the sink the application set (`setRuntimeLogSink`: the CLI's log file) or the console. Installed
 * once, before the first native connection; later calls are no-ops.
 */
export function quietRuntime(): void {
  const write = runtimeLogSink() ?? ((line: string) => void process.stderr.write(line));
  const debug = process.env.DEEPFABRIC_LOG_LEVEL === 'debug';
  try {
    Runtime.install({
      logger: new DefaultLogger(debug ? 'DEBUG' : 'WARN', (entry) => {
        // Batch mode's poll fails by design while a provider batch has nothing new (its retry policy is
        // the poll loop): one warning a minute for a day is noise, not news.
        if (!debug && (entry.meta?.error as { type?: string } | undefined)?.type === 'batch_pending') return;
        const meta = entry.meta && Object.keys(entry.meta).length ? ` ${safeJson(entry.meta)}` : '';
        const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
        write(`${at} ${entry.level} ${entry.message}${meta}\n`);
      }),
    });
  } catch {
    // already installed (by the application, or by an earlier call)
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) =>
      x instanceof Error ? { name: x.name, message: x.message, stack: x.stack } : typeof x === 'bigint' ? String(x) : x,
    );
  } catch {
    return String(v);
  }
}

/** One governor per process, however many workers it runs. */
let governor: HeapGovernor | undefined;

/** A worker for dataset runs: workflows plus the batch and assembly activities. */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  quietRuntime();
  const connection = opts.connection ?? (await NativeConnection.connect(opts.cluster));
  const store = opts.store ?? (await openStore({ dataDir: opts.dataDir ?? defaultDataDir(), url: opts.storeUrl ?? connectionSettings().storeUrl }));
  const budget = opts.heapBudgetMb ?? Number(process.env.DEEPFABRIC_HEAP_BUDGET_MB ?? 64);
  if (budget > 0 && !governor) governor = startHeapGovernor(budget);
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowBundle: opts.workflowBundle ?? (await workflowBundle()),
    activities: createActivities({ env: opts.env ?? process.env, store, ...(opts.modelCalls === false ? { modelCalls: false } : {}) }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 200,
    maxConcurrentWorkflowTaskExecutions: 40,
    // Enough pollers that a finished batch's successor is picked up at once.
    maxConcurrentActivityTaskPolls: 16,
    maxConcurrentWorkflowTaskPolls: 8,
  });
  return { worker, connection };
}
