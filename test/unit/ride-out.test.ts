/** Waiting on a run through a Temporal frontend outage (src/client/ride-out.ts), on a hand-driven clock. */
import { ServiceError } from '@temporalio/client';
import { ConnectionLostError, isServiceUnreachable, rideOut } from '../../src/client/ride-out';

/** What the client throws when the frontend is down: "Failed to get Workflow execution history" over gRPC UNAVAILABLE. */
const unavailable = () =>
  new ServiceError('Failed to get Workflow execution history', { cause: Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }) });

function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

it('tells transient unreachability from real failures', () => {
  expect(isServiceUnreachable(unavailable())).toBe(true);
  expect(isServiceUnreachable(Object.assign(new Error('deadline'), { code: 4 }))).toBe(true);
  expect(isServiceUnreachable(Object.assign(new Error('not found'), { code: 5 }))).toBe(false);
  expect(isServiceUnreachable(new Error('workflow execution failed'))).toBe(false);
});

it('keeps waiting through an outage shorter than its patience, says so once, and returns the result', async () => {
  const c = clock();
  let calls = 0;
  const said: string[] = [];
  const value = await rideOut(
    async () => {
      if (++calls <= 15) throw unavailable(); // 30 s of outage at 2 s a try
      return 'completed';
    },
    { patienceMs: 60_000, delayMs: 2_000, onLost: () => said.push('lost'), onBack: () => said.push('back'), giveUp: () => 'gave up', ...c },
  );
  expect({ value, calls, said, waited: c.now() }).toEqual({ value: 'completed', calls: 16, said: ['lost', 'back'], waited: 30_000 });
});

it('gives up after its patience with a message that says the run goes on and how to re-attach', async () => {
  const c = clock();
  const err = await rideOut(
    async () => {
      throw unavailable();
    },
    { patienceMs: 10_000, delayMs: 2_000, giveUp: (_e, waited) => `lost Temporal for ${waited / 1000} s: the same command re-attaches`, ...c },
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectionLostError);
  expect((err as Error).message).toBe('lost Temporal for 10 s: the same command re-attaches');
});

it('does not retry a failure that is not about reaching Temporal', async () => {
  let calls = 0;
  const err = await rideOut(
    async () => {
      calls++;
      throw new Error('run failed');
    },
    { patienceMs: 10_000, delayMs: 1, giveUp: () => 'x', ...clock() },
  ).catch((e: unknown) => e);
  expect({ calls, message: (err as Error).message }).toEqual({ calls: 1, message: 'run failed' });
});
