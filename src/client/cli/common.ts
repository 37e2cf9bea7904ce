/** What every command shares: the program, failure output, the log sink, the run-control client. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, DataSetGeneratorError } from '../../errors';
import { SharedServerLease } from '../../worker/shared-server';
import { defaultDataDir } from '../run-builder';
import { RunHandle } from '../run-handle';

/**
 * Where the SDK's and the embedded worker's logs go. Commands that run a worker beside a progress
 * bar (`generate`, `topics`) send them to `<dataDir>/logs/worker.log` (path printed once): a retried
 * 429 or a refused connection is a line in that file, not a stack trace in the terminal. `worker`
 * and the others keep them on stderr.
 */
export const logSink: { path?: string; file?: WriteStream } = {};
export function logToFile(dataDir: string): void {
  logSink.path = path.join(dataDir, 'logs', 'worker.log');
}
/** Opens the log file at its first line (a refused config must not leave a data folder behind). */
function logFile(): WriteStream | undefined {
  if (!logSink.file && logSink.path) {
    mkdirSync(path.dirname(logSink.path), { recursive: true });
    logSink.file = createWriteStream(logSink.path, { flags: 'a' });
  }
  return logSink.file;
}
Runtime.install({
  logger: new DefaultLogger(process.env.DEEPFABRIC_LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN', (entry) => {
    const meta = entry.meta && Object.keys(entry.meta).length ? ` ${safeJson(entry.meta)}` : '';
    const line = `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${meta}\n`;
    const file = logFile();
    if (file) file.write(line);
    else process.stderr.write(line);
  }),
});

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) =>
      x instanceof Error ? { name: x.name, message: x.message, stack: x.stack } : typeof x === 'bigint' ? String(x) : x,
    );
  } catch {
    return String(v);
  }
}

/** `deepfabric`: the name DeepFabric users already type; the commands mirror its `generate`. */
export const program = new Command('deepfabric').description('Durable synthetic-dataset generation on Temporal').showHelpAfterError();

export function fail(err: unknown): never {
  if (err instanceof ConfigurationError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (!(err instanceof DataSetGeneratorError) && err instanceof Error && process.env.DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

/** This package's version, from its package.json (found from the source and the compiled file alike). */
export function packageVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'deepfabric-temporal') return pkg.version ?? 'unknown';
    }
  }
  return 'unknown';
}
program.version(packageVersion(), '--version', 'print the version');

/**
 * A client for commands that inspect or steer runs. Embedded mode: a lease on the data folder's
 * dev server, started on its SQLite state when none runs (no worker: nothing resumes spending).
 */
export async function controlClient(dataDir?: string): Promise<{ client: Client; close(): Promise<void> }> {
  let address = process.env.TEMPORAL_ADDRESS;
  let lease: SharedServerLease | undefined;
  if (!address) {
    lease = await SharedServerLease.acquire(path.join(path.resolve(dataDir ?? defaultDataDir()), 'temporal'));
    address = lease.address;
  }
  const apiKey = process.env.TEMPORAL_API_KEY;
  try {
    const connection = await Connection.connect({ address, ...(apiKey ? { tls: true, apiKey } : {}) });
    return {
      client: new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' }),
      close: async () => {
        await connection.close();
        await lease?.release();
      },
    };
  } catch (err) {
    await lease?.release();
    throw err;
  }
}

export function control(name: string, description: string, act: (run: RunHandle, json: boolean) => Promise<unknown>): void {
  program
    .command(name)
    .argument('<run-id>')
    .option('--data-dir <dir>', 'storage folder (embedded mode)')
    .option('--json', 'machine-readable output')
    .description(description)
    .action(async (runId: string, o: { dataDir?: string; json?: boolean }) => {
      try {
        const { client, close } = await controlClient(o.dataDir);
        const run = new RunHandle(client, runId, undefined);
        const out = await act(run, o.json === true);
        process.stdout.write(typeof out === 'string' ? `${out}\n` : `${JSON.stringify(out, null, 2)}\n`);
        await close();
      } catch (err) {
        fail(err);
      }
    });
}
