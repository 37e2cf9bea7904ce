import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import path from 'node:path';
import { SharedServerLease } from '../worker/shared-server';
import type { Store } from '../storage/store';
import { DATASET_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { DEFAULT_TASK_QUEUE, embeddedTaskQueue } from '../config/paths';
import { connectionSettings, type ClusterConnection } from '../config/connection';

/** How a client reaches Temporal. Nothing set = embedded mode. */
export interface TemporalOptions {
  /** host:port of a cluster; defaults to TEMPORAL_ADDRESS. When set, no server or worker is started. */
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** An existing client (tests, apps with their own connection); no worker is started unless `embeddedWorker`. */
  client?: Client;
  /** Run an in-process worker. Default: true in embedded mode, false with an address or client. */
  embeddedWorker?: boolean;
  /** A worker for `taskQueue` already runs in this process (so function content filters work). */
  workerInProcess?: boolean;
  /** Use the Dataset* search attributes. Default: when the namespace has them registered. */
  searchAttributes?: boolean;
  /** Temporal Cloud / TLS. */
  tls?: boolean;
  apiKey?: string;
}

interface ServedQueue {
  worker: Worker;
  run: Promise<void>;
}

/**
 * An open Temporal connection and, in embedded mode, the dev server and the workers this process runs.
 *
 * Which runs a process's worker serves (issue 18): in embedded mode each workflow has a task queue of
 * its own (`embeddedTaskQueue`: the store's id and the workflow id), and a command's worker polls
 * only the queues of the runs that command started or resumed (`serve`). An interrupted run of the
 * folder is therefore never picked up, and paid for, by a command that did not name it. A cluster
 * keeps one shared queue (`DEEPFABRIC_TASK_QUEUE`): its `deepfabric worker`s serve every run.
 */
/** The address a context made from a client handed in by code reports: it names none. */
export const GIVEN_CLIENT = '(given client)';

export class TemporalContext {
  private readonly served = new Map<string, Promise<ServedQueue>>();
  private nativeConnection: Promise<NativeConnection> | undefined;

  private constructor(
    readonly client: Client,
    readonly namespace: string,
    private readonly sharedTaskQueue: string,
    readonly mode: 'embedded' | 'cluster',
    readonly address: string,
    readonly uiUrl: string | undefined,
    /** The data folder whose embedded server this is (embedded mode). */
    readonly dataDir: string,
    /** A server on the preferred port that is not this folder's (embedded mode), in words. */
    readonly foreign: string | undefined,
    private readonly owned: { connection?: Connection; lease?: SharedServerLease },
    private readonly workerSetup: { enabled: boolean; security: Omit<ClusterConnection, 'address'>; store: Store | undefined; storeId: string | undefined },
    private readonly workerInProcess = false,
  ) {}

  static async open(opts: TemporalOptions, dataDir: string, store?: Store): Promise<TemporalContext> {
    const conn = connectionSettings();
    const namespace = opts.namespace ?? conn.namespace;
    const taskQueue = opts.taskQueue ?? conn.taskQueue ?? DEFAULT_TASK_QUEUE;
    // The options given in code win over the environment's (TEMPORAL_* variables, temporal.toml profiles).
    const { address: envAddress, ...envSecurity }: Partial<ClusterConnection> = conn.cluster ?? {};
    const address = opts.address ?? envAddress;
    const apiKey = opts.apiKey ?? envSecurity.apiKey;
    const security = { ...(opts.address ? {} : envSecurity), ...(opts.tls || apiKey ? { tls: true } : {}), ...(apiKey ? { apiKey } : {}) };
    const setup = (enabled: boolean, storeId?: string) => ({ enabled, security, store, storeId });
    if (opts.client) {
      const ctx = new TemporalContext(
        opts.client,
        namespace,
        taskQueue,
        'cluster',
        address ?? GIVEN_CLIENT,
        undefined,
        dataDir,
        undefined,
        {},
        setup(opts.embeddedWorker === true),
        opts.workerInProcess,
      );
      if (opts.embeddedWorker) await ctx.serve(taskQueue);
      return ctx;
    }
    if (address) {
      const connection = await Connection.connect({ address, ...security });
      const ctx = new TemporalContext(
        new Client({ connection, namespace }),
        namespace,
        taskQueue,
        'cluster',
        address,
        undefined,
        dataDir,
        undefined,
        { connection },
        setup(opts.embeddedWorker === true),
      );
      if (opts.embeddedWorker) await ctx.serve(taskQueue);
      return ctx;
    }
    // Embedded: the data folder's own dev server (started on its SQLite state if none runs; see
    // src/worker/shared-server.ts for how it is recognised and who stops it). Workers start per run.
    const storeId = store ? await store.id() : undefined;
    const lease = await SharedServerLease.acquire(path.join(dataDir, 'temporal'), { namespace });
    try {
      const connection = await Connection.connect({ address: lease.address });
      return new TemporalContext(
        new Client({ connection, namespace }),
        namespace,
        taskQueue,
        'embedded',
        lease.address,
        lease.uiUrl,
        dataDir,
        lease.foreign,
        { connection, lease },
        setup(opts.embeddedWorker ?? true, storeId),
      );
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  /** The task queue a new workflow with this id goes on: its own in embedded mode, the shared one of a cluster. */
  taskQueueFor(workflowId: string): string {
    return this.mode === 'embedded' ? embeddedTaskQueue(this.workerSetup.storeId ?? 'nostore', workflowId) : this.sharedTaskQueue;
  }

  /** The task queue of the runs this context starts when it is shared (cluster mode). */
  get taskQueue(): string {
    return this.sharedTaskQueue;
  }

  /**
   * Makes this process's worker poll `taskQueue` (once per queue), when this context runs workers;
   * a no-op otherwise (a cluster's workers serve it). `modelCalls: false`: a worker that never calls
   * a model (it winds a cancelled run down). The worker uses this client's store (or data
   * folder): one store for the run by construction.
   */
  async serve(taskQueue: string, opts: { modelCalls?: boolean } = {}): Promise<void> {
    if (!this.workerSetup.enabled) return;
    let served = this.served.get(taskQueue);
    if (!served) {
      served = (async () => {
        // Loaded here: a command that only reads or signals runs never loads the worker SDK.
        // (`require`, not `import()`: the CLI from source runs under tsx's CommonJS hook.)
        const { createWorker, quietRuntime } = require('../worker/worker') as typeof import('../worker/worker');
        quietRuntime(); // before the first native connection creates the SDK's default Runtime
        this.nativeConnection ??= import('@temporalio/worker').then(({ NativeConnection }) =>
          NativeConnection.connect({ address: this.address, ...this.workerSetup.security }),
        );
        const connection = await this.nativeConnection;
        const { worker } = await createWorker({
          cluster: { address: this.address, ...this.workerSetup.security },
          connection,
          namespace: this.namespace,
          taskQueue,
          ...(opts.modelCalls === false ? { modelCalls: false } : {}),
          ...(this.workerSetup.store ? { store: this.workerSetup.store } : { dataDir: this.dataDir }),
        });
        return { worker, run: worker.run() };
      })();
      this.served.set(taskQueue, served);
      served.catch(() => this.served.delete(taskQueue));
    }
    await served;
  }

  /** Whether the namespace has the Dataset* search attributes (asked once; false when it cannot tell). */
  async hasDatasetSearchAttributes(): Promise<boolean> {
    this.searchAttributesKnown ??= this.client.connection.operatorService
      .listSearchAttributes({ namespace: this.namespace })
      .then((r) => Object.keys(DATASET_SEARCH_ATTRIBUTES).every((k) => k in (r.customAttributes ?? {})))
      .catch(() => false);
    return this.searchAttributesKnown;
  }
  private searchAttributesKnown: Promise<boolean> | undefined;

  /** True when this process runs the workers of its runs (content filter functions then work). */
  get hasLocalWorker(): boolean {
    return this.workerSetup.enabled || this.workerInProcess;
  }

  /** Stops the workers, closes the connections, and drops the lease on the embedded server (the last one stops it). */
  async close(): Promise<void> {
    const served = await Promise.all([...this.served.values()].map((s) => s.catch(() => undefined)));
    this.served.clear();
    for (const s of served) if (s && s.worker.getState() === 'RUNNING') s.worker.shutdown();
    for (const s of served) await s?.run.catch(() => undefined);
    const native = await this.nativeConnection?.catch(() => undefined);
    await native?.close().catch(() => undefined);
    await this.owned.connection?.close();
    await this.owned.lease?.release();
  }
}
