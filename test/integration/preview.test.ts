/**
 * `deepfabric preview` (issue 13): mid-run, it prints the latest accepted examples, which are in the
 * run's shards; the run's memo (what the Temporal UI shows) holds the latest one, short.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { FsStore } from '../../src/storage/fs-store';
import { topicPaths } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { waitFor } from '../support/temporal';

const env = useIntegrationEnv('preview');
const bin = path.join(__dirname, '..', '..', 'bin', 'deepfabric.js');

it("preview mid-run shows the newest records of the run's shards", async () => {
  env.llm.configure({ latencyMs: 300 });
  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    concurrency: 1,
    callsPerBatch: 1,
    temporal: { client: env.client, taskQueue: env.taskQueue },
  });
  const run = await gen.startData({ numSteps: 20, batchSize: 1, topics: topicPaths(20), runName: 'preview' });
  await waitFor(async () => ((await run.stats()).batchesDone >= 3 ? true : undefined));
  // Held mid-run by a pause (not by the machine's speed): no batch in flight, more to do.
  await run.pause();
  await waitFor(async () => {
    const s = await run.stats();
    return s.paused && s.batchesInFlight === 0 ? true : undefined;
  });
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, 'preview', run.runId, '-n', '2', '--data-dir', env.dataDir], { env: { ...process.env, DEEPFABRIC_STORE: '' } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
  const stats = await run.stats();
  expect(out.code).toBe(0);
  expect({ status: stats.status, accepted: stats.accepted < 20 }).toEqual({ status: 'paused', accepted: true }); // it was mid-run
  const shown = [...out.stdout.matchAll(/^user: (.*)$/gm)].map((m) => m[1]);
  expect(shown).toHaveLength(2);
  const shards = new FsStore(env.dataDir).run(run.runId);
  const inShards: string[] = [];
  for (const b of await shards.shardIndices())
    for (const r of (await shards.readShard(b)).records as { messages: { role: string; content: string }[] }[])
      inShards.push(r.messages.find((m) => m.role === 'user')!.content);
  for (const text of shown) expect(inShards).toContain(text);
  // The UI's view: the run's memo holds the latest accepted example, short, from a shard.
  const memo = (await run.handle.describe()).memo as { latest?: string };
  expect(typeof memo.latest).toBe('string');
  expect(memo.latest!.length).toBeLessThanOrEqual(300);
  expect(inShards.some((user) => memo.latest!.startsWith(user))).toBe(true);
  await run.cancel();
  await run.result().catch(() => undefined);
});
