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
 * Ports: 7233 (UI 8233) when free. Two data folders on one machine each get their own server: a
 * folder that finds another folder's embedded server on 7233 (a machine-wide file per port says
 * whose it is) starts its own on free ports and records them in its `server.json`, so it never runs
 * on the other's SQLite nor loses its server when the other's last command leaves. A server on 7233
 * that no folder started (your own `temporal server start-dev`) is used as it is.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive, withFileLock } from '../storage/file-lock';
import { DevServer, freePort, isListening } from './dev-server';

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
        let ports = { port: EMBEDDED_PORT, uiPort: EMBEDDED_UI_PORT };
        if (await isListening('127.0.0.1', EMBEDDED_PORT)) {
          // Another data folder's embedded server: this folder starts its own, on free ports, so neither
          // runs on the other's state nor is stopped when the other's last command leaves.
          const owner = await embeddedOwner(EMBEDDED_PORT);
          if (owner && path.resolve(owner.dir) !== path.resolve(dir)) ports = { port: await freePort(), uiPort: await freePort() };
          else {
            // Someone's own server (`temporal server start-dev`): used as it is, never stopped.
            await fs.rm(path.join(dir, 'server.json'), { force: true });
            return new SharedServerLease(dir, leaseFile, `127.0.0.1:${EMBEDDED_PORT}`, `http://localhost:${EMBEDDED_UI_PORT}`, false);
          }
        }
        const server = await DevServer.start({
          dbFile: path.join(dir, 'temporal.sqlite'),
          ...ports,
          ...(opts.namespace ? { namespace: opts.namespace } : {}),
          detached: true,
        });
        const rec: ServerRecord = { pid: server.pid!, ...ports };
        await fs.writeFile(path.join(dir, 'server.json'), `${JSON.stringify(rec)}\n`);
        await registerEmbedded(ports.port, { pid: server.pid!, dir });
        return new SharedServerLease(dir, leaseFile, server.address, `http://localhost:${ports.uiPort}`, true);
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
      await unregisterEmbedded(record.port, record.pid);
    });
  }
}

/**
 * Which data folder's embedded server listens on a port, machine-wide (a file per port in the
 * temp folder): how a folder tells another folder's server on 7233 from someone's own.
 */
const registryDir = () => path.join(os.tmpdir(), 'deepfabric-embedded');

async function embeddedOwner(port: number): Promise<{ pid: number; dir: string } | undefined> {
  try {
    const rec = JSON.parse(await fs.readFile(path.join(registryDir(), `${port}.json`), 'utf8')) as { pid?: unknown; dir?: unknown };
    return typeof rec.pid === 'number' && typeof rec.dir === 'string' && processAlive(rec.pid) ? { pid: rec.pid, dir: rec.dir } : undefined;
  } catch {
    return undefined;
  }
}

async function registerEmbedded(port: number, owner: { pid: number; dir: string }): Promise<void> {
  await fs.mkdir(registryDir(), { recursive: true });
  await fs.writeFile(path.join(registryDir(), `${port}.json`), JSON.stringify(owner) + '\n');
}

async function unregisterEmbedded(port: number, pid: number): Promise<void> {
  const owner = await embeddedOwner(port);
  if (!owner || owner.pid === pid) await fs.rm(path.join(registryDir(), `${port}.json`), { force: true });
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
