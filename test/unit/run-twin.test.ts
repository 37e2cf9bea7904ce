/** A run started on one Temporal is not started again, silently, on another (src/client/run-starter.ts `refuseTwin`). */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { refuseTwin, WHERE_FILE } from '../../src/client/run-starter';
import type { TemporalContext } from '../../src/client/temporal-context';
import type { RunInput } from '../../src/config/run-input';
import { ConfigurationError } from '../../src/errors';

const ctx = (mode: string, address: string, namespace = 'default') => ({ mode, address, namespace }) as unknown as TemporalContext;
let input: RunInput;
beforeEach(async () => {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'twin-'));
  input = { runId: 'qa-1234abcd', runDir } as RunInput;
});
const startedOn = (where: object) => fs.writeFile(path.join(input.runDir, WHERE_FILE), JSON.stringify(where));

it('a cluster run rerun from a shell without TEMPORAL_ADDRESS is refused, naming the cluster and what to set', async () => {
  await startedOn({ mode: 'cluster', address: 'temporal.internal:7233', namespace: 'ml' });
  const err = await refuseTwin(ctx('embedded', '127.0.0.1:41234'), input, false).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigurationError);
  expect((err as Error).message).toMatch(
    /run qa-1234abcd of this dataset was started on the cluster at temporal\.internal:7233 \(namespace ml\), and this command talks to the data folder's embedded server.*Set TEMPORAL_ADDRESS=temporal\.internal:7233 TEMPORAL_NAMESPACE=ml/,
  );
  expect((err as Error).message).toMatch(/--replace/);
});

it('an embedded run rerun against a cluster is refused the other way round', async () => {
  await startedOn({ mode: 'embedded', address: 'this data folder', namespace: 'default' });
  await expect(refuseTwin(ctx('cluster', 'temporal.internal:7233'), input, false)).rejects.toThrow(/Unset TEMPORAL_ADDRESS/);
});

it('the same Temporal (an embedded server on another port is the same folder), no record, or --replace: no refusal', async () => {
  await expect(refuseTwin(ctx('embedded', '127.0.0.1:5555'), input, false)).resolves.toBeUndefined(); // nothing recorded
  await startedOn({ mode: 'embedded', address: 'this data folder', namespace: 'default' });
  await expect(refuseTwin(ctx('embedded', '127.0.0.1:6666'), input, false)).resolves.toBeUndefined();
  await startedOn({ mode: 'cluster', address: 'a:7233', namespace: 'default' });
  await expect(refuseTwin(ctx('cluster', 'a:7233'), input, false)).resolves.toBeUndefined();
  await expect(refuseTwin(ctx('embedded', '127.0.0.1:6666'), input, true)).resolves.toBeUndefined();
});

it('a client handed in by code (no address to compare) is never refused nor refuses', async () => {
  await startedOn({ mode: 'cluster', address: '(given client)', namespace: 'default' });
  await expect(refuseTwin(ctx('cluster', 'a:7233'), input, false)).resolves.toBeUndefined();
  await startedOn({ mode: 'cluster', address: 'a:7233', namespace: 'default' });
  await expect(refuseTwin(ctx('cluster', '(given client)'), input, false)).resolves.toBeUndefined();
});
