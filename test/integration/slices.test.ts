/**
 * Slices (issue 10): one generateSlice activity works through several batches with `callsPerBatch`
 * call slots, so slots do not idle between batches and Temporal does one schedule/start/complete
 * per slice. A slice with a batch that failed retryably is retried by Temporal's retry policy (the
 * run's): its finished batches come back from their shards, so only the failed batch calls again.
 */
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { topicPaths } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';

const env = useIntegrationEnv('slices');

const batchOf = (header: string | undefined) => Number(header?.split('/').pop());

/** Activities scheduled, by type, and the attempts of each started one (Temporal records a retried activity's last attempt). */
async function activityCounts(runId: string): Promise<{ scheduled: Record<string, number>; attempts: number[] }> {
  const history = await env.client.workflow.getHandle(runId).fetchHistory();
  const scheduled: Record<string, number> = {};
  const attempts: number[] = [];
  for (const e of history.events ?? []) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled[name] = (scheduled[name] ?? 0) + 1;
    if (e.activityTaskStartedEventAttributes) attempts.push(e.activityTaskStartedEventAttributes.attempt ?? 1);
  }
  return { scheduled, attempts };
}

it("a batch that keeps failing is retried with its slice by Temporal's retry policy; its slice-mates are paid once", async () => {
  let failing = '';
  env.llm.configure({ latencyMs: 20, outcomeForBatch: (b) => (b === failing ? '500' : undefined) });
  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    concurrency: 8,
    callsPerBatch: 2,
    batchesPerSlice: 4,
    maxRetries: 2,
    initialBackoffSeconds: 0.1,
    maxExtraBatchFraction: 0,
    dedup: { exact: false },
    temporal: { client: env.client, taskQueue: env.taskQueue, workerInProcess: true },
  });
  const args = { numSteps: 32, batchSize: 1, topics: topicPaths(32), runName: 'slice-failing' };
  failing = `${(await gen.startData(args)).runId}/5`;
  const run = await gen.startData(args); // attaches to the same run
  const result = await run.result();

  // 16 batches of 2 calls: batch 5 made 3 attempts (its slice's 3 attempts: maxRetries 2), every call a 500.
  const calls = new Map<number, string[]>();
  for (const c of env.llm.calls) calls.set(batchOf(c.batch), [...(calls.get(batchOf(c.batch)) ?? []), c.outcome]);
  expect(calls.get(5)).toEqual(Array(6).fill('500'));
  for (let b = 0; b < 16; b++) if (b !== 5) expect({ b, calls: calls.get(b) }).toEqual({ b, calls: ['ok', 'ok'] });
  expect(result.records).toBe(30);
  expect(result.stats).toMatchObject({ batchesDone: 15, batchesFailed: 1 });
  expect(result.stats.errorCategories).toEqual({ server_error: 1 });
  // Concurrency bounds the calls in flight across the slices.
  expect(env.llm.maxConcurrent).toBeLessThanOrEqual(8);
  // 4 slots, 16 batches: slices of 4 (4 activities); batch 5's slice took 3 attempts, the others 1.
  const { scheduled, attempts } = await activityCounts(run.runId);
  expect(scheduled).toEqual({ generateSlice: 4, assembleDataset: 1 });
  expect(attempts.sort()).toEqual([1, 1, 1, 1, 3]);
  expect(result.stats).toMatchObject({ retries: 2 });
});

it('a freed call slot goes to the next batch of the slice without waiting for the slow call of its batch', async () => {
  // One slice of 3 batches with 2 slots; call 0 of batch 0 is slow. With refill, batches 1 and 2
  // run in the other slot while it is still running.
  env.llm.configure({ latencyFor: (c) => (batchOf(c.batch) === 0 && c.call === 0 ? 1500 : 20) });
  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir: env.dataDir,
    concurrency: 2,
    callsPerBatch: 2,
    batchesPerSlice: 4,
    dedup: { exact: false },
    temporal: { client: env.client, taskQueue: env.taskQueue, workerInProcess: true },
  });
  const run = await gen.startData({ numSteps: 6, batchSize: 1, topics: topicPaths(6), runName: 'slice-refill' });
  const result = await run.result();
  expect(result.records).toBe(6);
  const slow = env.llm.calls.find((c) => batchOf(c.batch) === 0 && c.call === 0)!;
  const others = env.llm.calls.filter((c) => c !== slow);
  expect(others).toHaveLength(5);
  // Every other call started and ended while the slow one was in flight, one at a time (one free slot).
  for (const c of others) expect(c.endedAt! <= slow.endedAt!).toBe(true);
  expect(env.llm.maxConcurrent).toBe(2);
  expect((await activityCounts(run.runId)).scheduled).toEqual({ generateSlice: 1, assembleDataset: 1 });
});
