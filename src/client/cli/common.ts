/** What every command shares: the program, failure output, the log sink, the run-control client. */
import { Command } from 'commander';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, DataSetGeneratorError } from '../../errors';
import { openStore } from '../../storage/open-store';
import { setRuntimeLogSink } from '../../worker/runtime-log';
import { TemporalContext } from '../temporal-context';
import { defaultDataDir } from '../run-builder';
import { RunHandle } from '../run-handle';
import { packageVersion } from '../../config/release';
import { connectionSettings } from '../../config/connection';

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
setRuntimeLogSink((line) => {
  const file = logFile();
  if (file) file.write(line);
  else process.stderr.write(line);
});

/** `deepfabric`: the name DeepFabric users already type; the commands mirror its `generate`. */
export const program = new Command('deepfabric').description('Durable synthetic-dataset generation on Temporal').showHelpAfterError();

/**
 * Set once a command has its outcome and is closing its connections. A gRPC call still retrying then
 * fails with "Channel has been shut down", thrown from a timer inside the client's retry interceptor
 * (an uncaught exception, not a rejection anyone can catch): after the outcome that is noise, and it
 * must not turn a finished command's exit code into 1.
 */
export const closing = { now: false };
process.on('uncaughtException', (err) => {
  if (closing.now && /Channel has been shut down/.test(err.message)) return;
  process.stderr.write(`error: ${err.stack ?? err.message}\n`);
  process.exit(1);
});

export function fail(err: unknown): never {
  if (err instanceof ConfigurationError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (!(err instanceof DataSetGeneratorError) && err instanceof Error && process.env.DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

program.version(packageVersion(), '--version', 'print the version');

/** An open Temporal context for commands that inspect or steer runs, and where it points. */
export interface ControlContext {
  ctx: TemporalContext;
  /** "embedded Temporal at 127.0.0.1:7233 (data folder /x)" or "Temporal cluster at host:7233". */
  where: string;
  close(): Promise<void>;
}

/**
 * A Temporal context for commands that inspect or steer runs. Embedded mode: a lease on the data
 * folder's own dev server, started on its SQLite state when none runs. No worker runs until a command
 * asks for one run (`ctx.serve`): nothing resumes spending by being looked at.
 */
export async function controlClient(dataDir?: string): Promise<ControlContext> {
  const dir = path.resolve(dataDir ?? defaultDataDir());
  const conn = connectionSettings();
  if (!conn.cluster) logToFile(dir);
  const store = await openStore({ dataDir: dir, url: conn.storeUrl });
  try {
    const ctx = await TemporalContext.open({}, dir, store);
    return {
      ctx,
      where: whereLine(ctx),
      close: async () => {
        await ctx.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * Whether some worker polled this task queue in the last two minutes (its long polls last about a
 * minute). In embedded mode a run's queue is its own, so this says whether any command serves it.
 */
export async function hasLiveWorker(ctx: TemporalContext, taskQueue: string): Promise<boolean> {
  try {
    const r = await ctx.client.workflowService.describeTaskQueue({ namespace: ctx.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
    const recent = Date.now() - 120_000;
    return (r.pollers ?? []).some((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 >= recent);
  } catch {
    return true; // cannot tell: behave as before (ask the workflow)
  }
}

/** Which server and data folder a command uses (so a user never reads another folder's runs unawares). */
function whereLine(ctx: { mode: string; address: string; dataDir: string; foreign?: string | undefined }): string {
  if (ctx.mode !== 'embedded') return `Temporal cluster at ${ctx.address}`;
  return `embedded Temporal at ${ctx.address} (data folder ${ctx.dataDir})${ctx.foreign ? `; ${ctx.foreign}` : ''}`;
}

export function control(name: string, description: string, act: (run: RunHandle, json: boolean, c: ControlContext) => Promise<unknown>): void {
  program
    .command(name)
    .argument('<run-id>')
    .option('--data-dir <dir>', 'storage folder (embedded mode)')
    .option('--json', 'machine-readable output')
    .description(description)
    .action(async (runId: string, o: { dataDir?: string; json?: boolean }) => {
      try {
        const c = await controlClient(o.dataDir);
        try {
          const run = new RunHandle(c.ctx.client, runId, undefined);
          const out = await act(run, o.json === true, c);
          process.stdout.write(typeof out === 'string' ? `${out}\n` : `${JSON.stringify(out, null, 2)}\n`);
        } finally {
          await c.close();
        }
        process.exit(0);
      } catch (err) {
        fail(err);
      }
    });
}
