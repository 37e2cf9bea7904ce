/**
 * Two data folders on one machine: each gets its own embedded server (7233 for the first, free
 * ports for the next), so neither runs on the other's state nor loses its server when the other's
 * last command leaves (src/worker/shared-server.ts).
 */
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { isListening } from '../../src/worker/dev-server';
import { SharedServerLease } from '../../src/worker/shared-server';
import { tempDataDir } from '../support/temporal';

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
    const [host, port] = second.address.split(':');
    expect(await isListening(host!, Number(port))).toBe(true);
    const connection = await Connection.connect({ address: second.address });
    await connection.close();
  } finally {
    await first.release();
    await second?.release();
  }
  const [host, port] = second!.address.split(':');
  expect(await isListening(host!, Number(port))).toBe(false); // the last lease of the folder stopped it
});
