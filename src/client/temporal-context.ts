import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import path from 'node:path';
import { SharedServerLease } from '../worker/shared-server';
import type { Store } from '../storage/store';
import { createWorker } from '../worker/worker';
import { DATASET_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { DEFAULT_TASK_QUEUE } from '../worker/paths';

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

/** An open Temporal connection and, in embedded mode, the dev server and worker this process runs. */
export class TemporalContext {
  private constructor(
    readonly client: Client,
    readonly namespace: string,
    readonly taskQueue: string,
    readonly mode: 'embedded' | 'cluster',
    readonly address: string,
    readonly uiUrl: string | undefined,
    private readonly owned: { connection?: Connection; lease?: SharedServerLease; worker?: Worker; workerRun?: Promise<void> },
    private readonly workerInProcess = false,
  ) {}

  static async open(opts: TemporalOptions, dataDir: string, store?: Store): Promise<TemporalContext> {
    const namespace = opts.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
    const taskQueue = opts.taskQueue ?? process.env.DEEPFABRIC_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
    const address = opts.address ?? process.env.TEMPORAL_ADDRESS;
    const apiKey = opts.apiKey ?? process.env.TEMPORAL_API_KEY;
    if (opts.client) {
      const ctx = new TemporalContext(opts.client, namespace, taskQueue, 'cluster', address ?? '(given client)', undefined, {}, opts.workerInProcess);
      if (opts.embeddedWorker) await ctx.startWorker(address ?? '127.0.0.1:7233', {}, store, dataDir);
      return ctx;
    }
    if (address) {
      const connection = await Connection.connect({ address, ...(opts.tls || apiKey ? { tls: true } : {}), ...(apiKey ? { apiKey } : {}) });
      const ctx = new TemporalContext(new Client({ connection, namespace }), namespace, taskQueue, 'cluster', address, undefined, { connection });
      if (opts.embeddedWorker) await ctx.startWorker(address, { tls: opts.tls || apiKey !== undefined, ...(apiKey ? { apiKey } : {}) }, store, dataDir);
      return ctx;
    }
    // Embedded: the data folder's shared dev server (started on its SQLite state if none runs; see
    // src/worker/shared-server.ts for who stops it).
    const lease = await SharedServerLease.acquire(path.join(dataDir, 'temporal'), { namespace });
    let ctx: TemporalContext | undefined;
    try {
      const connection = await Connection.connect({ address: lease.address });
      ctx = new TemporalContext(new Client({ connection, namespace }), namespace, taskQueue, 'embedded', lease.address, lease.uiUrl, { connection, lease });
      if (opts.embeddedWorker ?? true) await ctx.startWorker(lease.address, {}, store, dataDir);
    } catch (err) {
      if (ctx) await ctx.close();
      else await lease.release();
      throw err;
    }
    return ctx;
  }

  /** The in-process worker uses this client's store (or data folder): one store for the run by construction. */
  private async startWorker(address: string, security: { tls?: boolean; apiKey?: string }, store: Store | undefined, dataDir: string): Promise<void> {
    const { worker } = await createWorker({ address, namespace: this.namespace, taskQueue: this.taskQueue, ...security, ...(store ? { store } : { dataDir }) });
    this.owned.worker = worker;
    this.owned.workerRun = worker.run();
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

  /** True when this process runs a worker (content filter functions then work). */
  get hasLocalWorker(): boolean {
    return this.owned.worker !== undefined || this.workerInProcess;
  }

  /** Stops the worker, closes the connection, and drops the lease on the embedded server (the last one stops it). */
  async close(): Promise<void> {
    if (this.owned.worker && this.owned.worker.getState() === 'RUNNING') this.owned.worker.shutdown();
    await this.owned.workerRun?.catch(() => undefined);
    await this.owned.connection?.close();
    await this.owned.lease?.release();
  }
}
