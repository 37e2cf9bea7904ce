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
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { processAlive, withFileLock } from '../storage/file-lock';
import { DevServer, isListening } from './dev-server';

export const EMBEDDED_PORT = 7233;
export const EMBEDDED_UI_PORT = 8233;

interface ServerRecord {
  pid: number;
  port: number;
  uiPort: number;
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
  ) {}

  /**
   * Takes a lease on the server of `dir` (`<dataDir>/temporal`), starting it on the folder's SQLite
   * state when none runs. A server on 127.0.0.1:7233 that this folder did not start (e.g. a
   * `temporal server start-dev` of the user's) is used as it is and never stopped.
   */
  static async acquire(dir: string, opts: { namespace?: string } = {}): Promise<SharedServerLease> {
    await fs.mkdir(path.join(dir, 'leases'), { recursive: true });
    return withLock(dir, async () => {
      const leaseFile = path.join(dir, 'leases', `${process.pid}-${++leaseCounter}`);
      await fs.writeFile(leaseFile, `${process.pid}\n`);
      try {
        const record = await readRecord(dir);
        if (record && processAlive(record.pid) && (await isListening('127.0.0.1', record.port))) {
          return new SharedServerLease(dir, leaseFile, `127.0.0.1:${record.port}`, `http://localhost:${record.uiPort}`, false);
        }
        if (await isListening('127.0.0.1', EMBEDDED_PORT)) {
          await fs.rm(path.join(dir, 'server.json'), { force: true });
          return new SharedServerLease(dir, leaseFile, `127.0.0.1:${EMBEDDED_PORT}`, `http://localhost:${EMBEDDED_UI_PORT}`, false);
        }
        const server = await DevServer.start({
          dbFile: path.join(dir, 'temporal.sqlite'),
          port: EMBEDDED_PORT,
          uiPort: EMBEDDED_UI_PORT,
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
          detached: true,
        });
        const rec: ServerRecord = { pid: server.pid!, port: EMBEDDED_PORT, uiPort: EMBEDDED_UI_PORT };
        await fs.writeFile(path.join(dir, 'server.json'), `${JSON.stringify(rec)}\n`);
        return new SharedServerLease(dir, leaseFile, server.address, `http://localhost:${EMBEDDED_UI_PORT}`, true);
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
      await stopProcess(record.pid);
      await fs.rm(path.join(this.dir, 'server.json'), { force: true });
    });
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
