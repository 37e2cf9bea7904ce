import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DevServer } from '../../src/worker/dev-server';

/**
 * Starts one real Temporal dev server (the CLI binary from scripts/ensure-temporal.sh) for all
 * integration tests; its address reaches the tests through the environment.
 */
export default async function globalSetup(): Promise<void> {
  // Embedded servers that tests start (CLI runs in embedded mode) take free ports, never 7233/8233:
  // the suite runs beside a user's own server or another checkout's (issue 24).
  process.env.DEEPFABRIC_EMBEDDED_PORT = '0';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'df-temporal-'));
  const server = await DevServer.start({ dbFile: path.join(dir, 'temporal.sqlite') });
  process.env.DF_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.DF_TEST_DIR = dir;
  (globalThis as { __devServer?: DevServer }).__devServer = server;
}
