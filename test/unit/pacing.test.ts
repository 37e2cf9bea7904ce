import { reserve, slowDown, type PacingState } from '../../src/llm/pacing';

/** Start times of `n` reservations made all at `now` (as many workers asking at once). */
function starts(n: number, s: { requestsPerMinute: number; burst?: number }, state?: PacingState, now = 0): { at: number[]; state: PacingState | undefined } {
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = reserve(state, now, s);
    at.push(r.startAt);
    state = r.state;
  }
  return { at, state };
}

describe('GCRA pacing', () => {
  it('spaces calls at the limit: 301/min (one of them the burst) is one every 200 ms', () => {
    expect(starts(5, { requestsPerMinute: 301 }).at).toEqual([0, 200, 400, 600, 800]);
  });

  it('a burst lets that many go at once after an idle time, then spaces the rest', () => {
    // 303/min with a burst of 3: the steady spacing leaves room for the burst (60 s / 300).
    expect(starts(6, { requestsPerMinute: 303, burst: 3 }).at).toEqual([0, 0, 0, 200, 400, 600]);
    // After a long idle period the state does not bank more than the burst.
    const { state } = starts(3, { requestsPerMinute: 303, burst: 3 });
    expect(starts(5, { requestsPerMinute: 303, burst: 3 }, state, 10_000).at).toEqual([10_000, 10_000, 10_000, 10_200, 10_400]);
  });

  it('no sliding minute holds more than the limit, burst included', () => {
    const at = starts(1500, { requestsPerMinute: 600, burst: 10 }).at;
    let most = 0;
    for (let i = 0, j = 0; i < at.length; i++) {
      while (at[i]! - at[j]! >= 60_000) j++;
      most = Math.max(most, i - j + 1);
    }
    expect(most).toBeLessThanOrEqual(600);
    expect(most).toBeGreaterThanOrEqual(595); // and the limit is used
  });

  it('a 429 doubles the spacing for everyone, up to 16 times; reservations take it back 5% at a time', () => {
    let state: PacingState | undefined = slowDown(undefined, 0, { requestsPerMinute: 301 });
    expect(state.intervalMs).toBe(400);
    for (let i = 0; i < 10; i++) state = slowDown(state, 0, { requestsPerMinute: 301 });
    expect(state.intervalMs).toBe(3200);
    const { at, state: after } = starts(40, { requestsPerMinute: 301 }, state, 0);
    expect(at[1]! - at[0]!).toBeGreaterThan(2000);
    expect(after!.intervalMs).toBeCloseTo(200 + 3000 * 0.95 ** 40, 6);
    expect(after!.intervalMs).toBeGreaterThan(200);
  });
});
