/**
 * A real PostgreSQL for tests, started by the test itself: Debian's `postgresql` binaries, `initdb`
 * and `pg_ctl` in a temp folder, on a free port, as the `postgres` user when run as root (initdb
 * refuses root). `.ci/run` installs the package.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/worker/dev-server';

const run = promisify(execFile);

/** The folder with initdb and pg_ctl (PG_BIN, PATH, or /usr/lib/postgresql/<newest>/bin). */
export function postgresBin(): string | undefined {
  if (process.env.PG_BIN && existsSync(path.join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

export interface TestPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** A crash: SIGKILL of the postmaster (its backends notice and exit); `restart()` brings it back through crash recovery. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data folder (after `kill()` or `stop()`). */
  restart(): Promise<void>;
  /** The postmaster's process id (its backends are its children). */
  pid(): number;
}

/** Starts a throwaway cluster and creates database `db`; its URL has no password (trust auth on 127.0.0.1). */
export async function startPostgres(db = 'deepfabric'): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL binaries not found: apt-get install -y postgresql (or set PG_BIN)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  let uid: number | undefined;
  let gid: number | undefined;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    uid = Number(stdout.trim());
    gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));
  await as(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const start = () =>
    as(path.join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      path.join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
  await start();
  const postmasterPid = () => Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  await as(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', db]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${db}`,
    port,
    async stop() {
      await as(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    },
    pid: postmasterPid,
    async kill() {
      const pid = postmasterPid();
      // Its backends, which exit when they see the postmaster gone; then the folder is free to start again.
      const children = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && procStat(Number(d))?.[1] === String(pid));
      process.kill(pid, 'SIGKILL');
      const running = (p: number) => {
        const s = procStat(p);
        return s !== undefined && s[0] !== 'Z';
      };
      for (let i = 0; i < 400 && [pid, ...children.map(Number)].some(running); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async restart() {
      // A killed postmaster that nobody reaped is a zombie, which the lock file check takes for a live server.
      if (existsSync(path.join(data, 'postmaster.pid'))) {
        const state = procStat(postmasterPid())?.[0];
        if (state === undefined || state === 'Z') rmSync(path.join(data, 'postmaster.pid'), { force: true });
      }
      for (let attempt = 0; ; attempt++) {
        try {
          await start();
          return;
        } catch (err) {
          // Backends of the killed postmaster may hold its shared memory for a moment.
          if (attempt >= 40) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
  };
}

/** A process's /proc stat fields after its name (state first, then the parent's pid), or undefined when it is gone. */
function procStat(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^\d+ \(.*\) /, '')
      .split(' ');
  } catch {
    return undefined;
  }
}
