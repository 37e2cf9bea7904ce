import type { Client, Connection } from '@temporalio/client';
import { workerEnv } from './fixtures';
import { LlmTestServer } from './llm-server';
import { startWorker, tempDataDir, testClient, uniqueTaskQueue, type RunningWorker } from './temporal';

/** What an integration test file shares: the LLM server, a client, and (optionally) an in-process worker. */
export interface IntegrationEnv {
  llm: LlmTestServer;
  client: Client;
  connection: Connection;
  taskQueue: string;
  /** The store (data folder) of the file's worker; generators of the file use it too. */
  dataDir: string;
  worker: RunningWorker | undefined;
}

/**
 * Registers the usual hooks of an integration test file: one local LLM server and one client for the
 * file, an in-process worker on a fresh task queue (unless `worker: false`), the LLM server reset
 * before each test. Fields are filled in `beforeAll`, so read them inside tests.
 */
export function useIntegrationEnv(name: string, opts: { worker?: boolean } = {}): IntegrationEnv {
  const env = {} as IntegrationEnv;
  beforeAll(async () => {
    env.llm = await new LlmTestServer().start();
    ({ client: env.client, connection: env.connection } = await testClient());
    env.taskQueue = uniqueTaskQueue(name);
    env.dataDir = tempDataDir(`${name}-`);
    env.worker = opts.worker === false ? undefined : await startWorker(env.taskQueue, workerEnv(env.llm), env.dataDir);
  });
  afterAll(async () => {
    await env.worker?.stop();
    await env.llm.stop();
    await env.connection.close();
  });
  beforeEach(() => env.llm.reset());
  return env;
}
