import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DevServer } from '../../src/worker/dev-server';

/**
 * Starts one real Temporal dev server (the CLI binary from scripts/ensure-temporal.sh) for all
 * integration tests; its address reaches the tests through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'df-temporal-'));
  const server = await DevServer.start({ dbFile: path.join(dir, 'temporal.sqlite') });
  process.env.DF_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.DF_TEST_DIR = dir;
  (globalThis as { __devServer?: DevServer }).__devServer = server;
}
