/**
 * The embedded dev server of a data folder, shared by every process that uses it.
 *
 * Decision (issue 8): reference counting with lease files under a lock, not a server that outlives
 * every command. Each process that needs the server (a `generate`, `topics`, `status`, `runs list`,
 * `deepfabric server`) holds a lease file in `<dataDir>/temporal/leases/`; the first one starts the
 * server *detached* (it does not die with the process that started it) and records it in
 * `server.json`; whoever releases the last lease stops it. A lease whose process is gone (kill -9,
 * a closed terminal) is pruned at the next acquire or release, so a crashed client never keeps the
 * server alive for ever, and never stops it under another client's feet. Acquire and release run
 * under `lock` (created with O_EXCL), so two commands started in the same second cannot both start a
 * server, or stop the one the other just attached to. The state is the SQLite file next to them:
 * stopping the server loses nothing, and the next command starts it again on the same runs.
 *
 * Why not a server that outlives the command: a background process left behind after `generate`
 * returns surprises users on shared machines and laptops; `deepfabric server` keeps it up on purpose.
 *
 * Which server is this folder's (issue 24): only the one whose process this folder recorded in
 * `server.json` AND whose command line names this folder's SQLite file and port. "Something answers
 * on 7233" proves nothing: another folder's server, a user's own `temporal server start-dev`, or a
 * stranger that took a dead server's port would run (and could fail) this folder's runs. Anything
 * else listening there is never attached to; the folder starts its own server, on 7233/8233 when
 * both are free and on free ports otherwise. (To use a server of your own, set TEMPORAL_ADDRESS.)
 * DEEPFABRIC_EMBEDDED_PORT=0 always takes free ports (the test suite sets it, so it never takes 7233).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { processAlive, withFileLock } from '../storage/file-lock';
import { DevServer, freePort, isListening } from './dev-server';

const EMBEDDED_PORT = 7233;
const EMBEDDED_UI_PORT = 8233;

interface ServerRecord {
  pid: number;
  port: number;
  uiPort: number;
  dbFile?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let leaseCounter = 0;

/** A lease on a data folder's embedded server; `release()` once done with it. */
export class SharedServerLease {
  private released = false;
  private constructor(
    private readonly dir: string,
    private readonly leaseFile: string,
    readonly address: string,
    readonly uiUrl: string,
    /** True when this process started the server (it may still be stopped by another). */
    readonly started: boolean,
    /** What listens on the preferred port instead, when it is not this folder's server (said to the user). */
    readonly foreign?: string,
  ) {}

  /** The data folder whose server this is (`dir` is `<dataDir>/temporal`). */
  get dataDir(): string {
    return path.dirname(this.dir);
  }

  /**
   * Takes a lease on the server of `dir` (`<dataDir>/temporal`), starting it on the folder's SQLite
   * state when none of this folder's runs (see the file comment for how it is recognised).
   */
  static async acquire(dir: string, opts: { namespace?: string } = {}): Promise<SharedServerLease> {
    await fs.mkdir(path.join(dir, 'leases'), { recursive: true });
    const dbFile = path.resolve(dir, 'temporal.sqlite');
    return withLock(dir, async () => {
      const leaseFile = path.join(dir, 'leases', `${process.pid}-${++leaseCounter}`);
      await fs.writeFile(leaseFile, `${process.pid}\n`);
      try {
        const record = await readRecord(dir);
        if (record && (await isThisFoldersServer(record, dbFile))) {
          return new SharedServerLease(dir, leaseFile, `127.0.0.1:${record.port}`, `http://localhost:${record.uiPort}`, false);
        }
        await fs.rm(path.join(dir, 'server.json'), { force: true });
        const ports = await embeddedPorts();
        const server = await DevServer.start({ dbFile, ...ports, ...(opts.namespace ? { namespace: opts.namespace } : {}), detached: true });
        const rec: ServerRecord = { pid: server.pid!, ...ports, dbFile };
        await fs.writeFile(path.join(dir, 'server.json'), `${JSON.stringify(rec)}\n`);
        const preferred = preferredPort();
        const foreign =
          preferred !== undefined && ports.port !== preferred && (await isListening('127.0.0.1', preferred))
            ? `127.0.0.1:${preferred} answers but is not this folder's server (set TEMPORAL_ADDRESS=127.0.0.1:${preferred} to use it)`
            : undefined;
        return new SharedServerLease(dir, leaseFile, server.address, `http://localhost:${ports.uiPort}`, true, foreign);
      } catch (err) {
        await fs.rm(leaseFile, { force: true });
        throw err;
      }
    });
  }

  /** Drops this lease; the last lease of live processes stops the server this folder started. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await withLock(this.dir, async () => {
      await fs.rm(this.leaseFile, { force: true });
      if ((await liveLeases(this.dir)) > 0) return;
      const record = await readRecord(this.dir);
      if (!record) return;
      // Never signal a process that is not this folder's server (its pid may have been reused).
      if (await isThisFoldersServer(record, path.resolve(this.dir, 'temporal.sqlite'))) await stopProcess(record.pid);
      await fs.rm(path.join(this.dir, 'server.json'), { force: true });
    });
  }
}

/** 7233/8233 when both are free (the ports the docs and the UI link name), else free ports. */
async function embeddedPorts(): Promise<{ port: number; uiPort: number }> {
  const port = preferredPort();
  if (port !== undefined) {
    const uiPort = port === EMBEDDED_PORT ? EMBEDDED_UI_PORT : port + 1000;
    if (!(await isListening('127.0.0.1', port)) && !(await isListening('127.0.0.1', uiPort))) return { port, uiPort };
  }
  return { port: await freePort(), uiPort: await freePort() };
}

/** 7233, or DEEPFABRIC_EMBEDDED_PORT; undefined when that is 0 (free ports only). */
function preferredPort(): number | undefined {
  const wanted = process.env.DEEPFABRIC_EMBEDDED_PORT;
  if (wanted === '0') return undefined;
  return wanted ? Number(wanted) : EMBEDDED_PORT;
}

/**
 * True when the recorded process is alive, listens on the recorded port, and is a Temporal server
 * started on this folder's SQLite file with that port (its command line says so).
 */
async function isThisFoldersServer(record: ServerRecord, dbFile: string): Promise<boolean> {
  if (!processAlive(record.pid) || !(await isListening('127.0.0.1', record.port))) return false;
  const args = await commandLine(record.pid);
  if (!args) return false;
  const at = (flag: string) => args[args.indexOf(flag) + 1];
  return (
    args.includes('start-dev') && at('--db-filename') !== undefined && path.resolve(at('--db-filename')!) === dbFile && at('--port') === String(record.port)
  );
}

const execFileAsync = promisify(execFile);

/** A process's arguments: /proc on Linux, `ps` elsewhere (split on spaces there: paths with spaces do not match). */
async function commandLine(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a.length > 0);
  } catch {
    try {
      const { stdout } = await execFileAsync('ps', ['-o', 'command=', '-p', String(pid)]);
      return stdout.trim().split(/\s+/);
    } catch {
      return undefined;
    }
  }
}

async function readRecord(dir: string): Promise<ServerRecord | undefined> {
  try {
    const rec = JSON.parse(await fs.readFile(path.join(dir, 'server.json'), 'utf8')) as Partial<ServerRecord>;
    return typeof rec.pid === 'number' && typeof rec.port === 'number' && typeof rec.uiPort === 'number' ? (rec as ServerRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Counts leases of live processes, deleting those of processes that are gone. */
async function liveLeases(dir: string): Promise<number> {
  let live = 0;
  for (const name of await fs.readdir(path.join(dir, 'leases')).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && processAlive(pid)) live++;
    else await fs.rm(path.join(dir, 'leases', name), { force: true });
  }
  return live;
}

async function stopProcess(pid: number): Promise<void> {
  if (!processAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (processAlive(pid) && Date.now() < deadline) await sleep(50);
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Runs `fn` holding `<dir>/lock`. A live holder is waited for up to 20 minutes (starting a server can
 * take minutes on a fresh machine, when the Temporal CLI is installed first).
 */
function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(path.join(dir, 'lock'), fn);
}
