/**
 * Every data folder its own server (src/worker/shared-server.ts, issue 24): a folder attaches only to
 * the server its server.json names AND whose command line names the folder's SQLite file; anything
 * else listening (another folder's server, a `temporal server start-dev` nobody's folder started) is
 * left alone and the folder starts its own on free ports.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { DevServer, freePort, isListening } from '../../src/worker/dev-server';
import { SharedServerLease } from '../../src/worker/shared-server';
import { tempDataDir } from '../support/temporal';

const listening = (address: string) => isListening('127.0.0.1', Number(address.split(':')[1]));

it('a second data folder starts its own server; the first leaving does not stop it', async () => {
  const first = await SharedServerLease.acquire(path.join(tempDataDir('folder-a-'), 'temporal'));
  const secondDir = path.join(tempDataDir('folder-b-'), 'temporal');
  let second: SharedServerLease | undefined;
  try {
    second = await SharedServerLease.acquire(secondDir);
    expect(second.started).toBe(true);
    expect(second.address).not.toBe(first.address);
    expect(second.uiUrl).not.toBe(first.uiUrl);
    // A second command of the second folder attaches to that folder's server, not to the first's.
    const again = await SharedServerLease.acquire(secondDir);
    expect(again.address).toBe(second.address);
    await again.release();

    await first.release();
    expect(await listening(second.address)).toBe(true);
    const connection = await Connection.connect({ address: second.address });
    await connection.close();
  } finally {
    await first.release();
    await second?.release();
  }
  expect(await listening(second.address)).toBe(false); // the last lease of the folder stopped it
});

it('a foreign server on the preferred port, even one a forged server.json points at, is never attached to nor stopped', async () => {
  const port = await freePort();
  const foreign = await DevServer.start({ port }); // in memory: no folder started it
  const saved = process.env.DEEPFABRIC_EMBEDDED_PORT;
  process.env.DEEPFABRIC_EMBEDDED_PORT = String(port);
  const dir = path.join(tempDataDir('folder-c-'), 'temporal');
  let lease: SharedServerLease | undefined;
  try {
    // The folder's record names the foreign process and port, as a stale record whose pid and port were reused would.
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'server.json'), JSON.stringify({ pid: foreign.pid, port, uiPort: port + 1 }));
    lease = await SharedServerLease.acquire(dir);
    expect({ started: lease.started, sameAsForeign: lease.address === foreign.address }).toEqual({ started: true, sameAsForeign: false });
    expect(lease.foreign).toBe(`127.0.0.1:${port} answers but is not this folder's server (set TEMPORAL_ADDRESS=127.0.0.1:${port} to use it)`);
    const record = JSON.parse(await fs.readFile(path.join(dir, 'server.json'), 'utf8')) as { port: number; dbFile: string };
    expect(record.port).not.toBe(port);
    expect(record.dbFile).toBe(path.join(dir, 'temporal.sqlite'));
    await lease.release();
    expect(await listening(lease.address)).toBe(false);
    expect(await listening(foreign.address)).toBe(true); // the folder's last lease stopped its own server, not the foreign one
  } finally {
    if (saved === undefined) delete process.env.DEEPFABRIC_EMBEDDED_PORT;
    else process.env.DEEPFABRIC_EMBEDDED_PORT = saved;
    await lease?.release();
    await foreign.stop();
  }
});
