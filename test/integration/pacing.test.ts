import { baseInterval } from '../../src/llm/pacing';
/**
 * Pacing at the provider's limit (issue 10): two worker processes on one task queue share one
 * limit through the run store; the LLM server never sees more than N calls in any one-second window
 * beyond the documented burst. A 429 slows every worker down (shared state), and the run finishes.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DataSetGenerator } from '../../src/client/data-set-generator';
import { topicPaths, workerEnv } from '../support/fixtures';
import { useIntegrationEnv } from '../support/integration-env';
import { spawnWorkerProcess, tempDataDir, uniqueTaskQueue } from '../support/temporal';

const env = useIntegrationEnv('pacing', { worker: false });

/** The most calls that started within any window of `ms` milliseconds. */
const maxInWindow = (starts: number[], ms: number) => {
  const t = [...starts].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
};

it('5 requests/s over two workers on one task queue: never more than 5 + burst calls in any second', async () => {
  const taskQueue = uniqueTaskQueue('pacing');
  const dataDir = tempDataDir('pacing-');
  const vars = { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir };
  const workers = [await spawnWorkerProcess(taskQueue, vars), await spawnWorkerProcess(taskQueue, vars)];
  try {
    env.llm.configure({ latencyMs: 30 });
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 8,
      callsPerBatch: 2,
      rateLimit: { requestsPerMinute: 300, burst: 1 },
      temporal: { client: env.client, taskQueue },
    });
    const run = await gen.startData({ numSteps: 30, batchSize: 1, topics: topicPaths(30), runName: 'paced' });
    const result = await run.result();
    expect(result.records).toBe(30);
    const starts = env.llm.calls.map((c) => c.startedAt);
    expect(starts).toHaveLength(30);
    expect(maxInWindow(starts, 1000)).toBeLessThanOrEqual(5 + 1);
    // Unpaced, 8 calls in flight at 30 ms each would put far more than 6 in a second.
    expect(env.llm.maxConcurrent).toBeLessThanOrEqual(2);
  } finally {
    for (const w of workers) w.kill('SIGKILL');
  }
});

it('429s slow every worker down through the shared state, and the run still finishes exact', async () => {
  const taskQueue = uniqueTaskQueue('pacing-429');
  const dataDir = tempDataDir('pacing-429-');
  const worker = await spawnWorkerProcess(taskQueue, { ...workerEnv(env.llm), DEEPFABRIC_DATA_DIR: dataDir });
  try {
    env.llm.configure({ script: ['429', '429'], retryAfterSeconds: 0 });
    const gen = new DataSetGenerator({
      modelName: 'openai/gpt-4o-mini',
      dataDir,
      concurrency: 2,
      callsPerBatch: 1,
      initialBackoffSeconds: 0.1,
      rateLimit: { requestsPerMinute: 600 },
      temporal: { client: env.client, taskQueue },
    });
    const result = await (await gen.startData({ numSteps: 6, batchSize: 1, topics: topicPaths(6), runName: 'paced-429' })).result();
    expect(result.records).toBe(6);
    const ok = env.llm.calls
      .filter((c) => c.outcome === 'ok')
      .map((c) => c.startedAt)
      .sort((a, b) => a - b);
    // The two 429s (at once: one signal) doubled the 100 ms spacing for every worker, and it comes back
    // over seconds: the first answered calls are spaced well above 100 ms.
    expect(ok[1]! - ok[0]!).toBeGreaterThanOrEqual(150);
  } finally {
    worker.kill('SIGKILL');
  }
});

it('two processes reserving from one folder store at once get slots one interval (~200 ms) apart (the lock is shared across processes)', async () => {
  const dataDir = tempDataDir('pacing-procs-');
  const store = path.join(__dirname, '..', '..', 'src', 'storage', 'fs-store.ts');
  const code = `const { FsStore } = require(${JSON.stringify(store)});
    const s = new FsStore(${JSON.stringify(dataDir)});
    (async () => { const out = []; for (let i = 0; i < 8; i++) { const slot = await s.reserveSlot('openai/m@x', { requestsPerMinute: 300 }); out.push(slot.startAt); }
      process.stdout.write(JSON.stringify(out)); })();`;
  const run = () =>
    new Promise<number[]>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', code]);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (c) => (c === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`exit ${c}`))));
    });
  const [a, b] = await Promise.all([run(), run()]);
  const all = [...a, ...b].sort((x, y) => x - y);
  expect(all).toHaveLength(16);
  // Reservations are made in a burst; their slots, computed under the shared lock on the machine's
  // clock, are exactly one interval apart (60 s / (300 - burst 1)) whatever the load. Without a lock shared
  // by both processes, two reservations would read the same state and share a slot (a gap of 0).
  const interval = baseInterval({ requestsPerMinute: 300 });
  expect(all.slice(1).map((t, i) => Math.round((t - all[i]! - interval) * 1000))).toEqual(Array(15).fill(0));
});
