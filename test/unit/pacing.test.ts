import { AnnouncedLimits, currentInterval, reserve, slowDown, type PacingState } from '../../src/llm/pacing';
import { announcedLimits, announcedRequestsPerMinute, announcedTokensPerMinute } from '../../src/llm/rate-limit-headers';

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

  it('a 429 doubles the spacing for everyone (at most once a second, up to 4 times); the extra halves every 5 s down to a learned floor that fades in minutes', () => {
    const s = { requestsPerMinute: 301 }; // 200 ms base spacing
    let state: PacingState | undefined = slowDown(undefined, 0, s);
    expect(state).toMatchObject({ intervalMs: 400, floorMs: 250, slowedAt: 0 });
    // A burst of 429s from calls already in flight counts once.
    for (let t = 1; t < 1000; t += 100) state = slowDown(state, t, s);
    expect(state.intervalMs).toBe(400);
    // Quick recovery of the doubling, then the floor (a quarter above the spacing that met the 429), fading slowly.
    expect(currentInterval(state, 5_000, s)).toBeCloseTo(300, 6);
    expect(currentInterval(state, 20_000, s)).toBeCloseTo(200 + 50 * 0.5 ** (20 / 60), 6);
    expect(currentInterval(state, 600_000, s)).toBeCloseTo(200, 1);
    // Reservations space calls by the spacing in force at their time, and keep the 429's record.
    const r = reserve(state, 20_000, s);
    expect(r.state).toMatchObject({ intervalMs: 400, slowedAt: 0, floorMs: 250 });
    expect(r.state.tat - Math.max(state.tat, 20_000)).toBeCloseTo(200 + 50 * 0.5 ** (20 / 60), 6);
    // Repeated 429s a second apart compound to the 4x cap; the floor stays the one the episode's first 429 taught.
    for (let t = 1000; t <= 10_000; t += 1000) state = slowDown(state, t, s);
    expect(state).toMatchObject({ intervalMs: 800, floorMs: 250 });
    // A 429 after a quiet spell starts a new episode: a new floor, a quarter above the spacing it met.
    const later = slowDown(state, 60_000, s);
    expect(later.floorMs).toBeCloseTo(currentInterval(state, 60_000, s) * 1.25, 6);
  });

  it('state written before time-based recovery (no slowedAt) still recovers 5% per reservation', () => {
    const { at, state: after } = starts(40, { requestsPerMinute: 301 }, { tat: 0, intervalMs: 3200 }, 0);
    expect(at[1]! - at[0]!).toBeGreaterThan(2000);
    expect(after!.intervalMs).toBeCloseTo(200 + 3000 * 0.95 ** 40, 6);
  });
});

describe('limits the provider announces', () => {
  it('reads OpenAI and Anthropic request-limit headers as requests per minute; nothing else', () => {
    expect(announcedRequestsPerMinute(new Headers({ 'x-ratelimit-limit-requests': '600', 'x-ratelimit-remaining-requests': '12' }))).toBe(600);
    expect(announcedRequestsPerMinute(new Headers({ 'anthropic-ratelimit-requests-limit': '50' }))).toBe(50);
    expect(announcedRequestsPerMinute(new Headers({ 'x-ratelimit-limit-requests': 'lots' }))).toBeUndefined();
    expect(announcedRequestsPerMinute(new Headers({ 'retry-after': '3' }))).toBeUndefined();
    expect(announcedRequestsPerMinute(undefined)).toBeUndefined();
  });

  it('paces an endpoint at its latest announcement (a limit changed mid-run is followed), others not at all', () => {
    const limits = new AnnouncedLimits();
    expect(limits.pacing('openai/m@x')).toBeUndefined();
    limits.note('openai/m@x', 600);
    limits.note('openai/m@x', undefined); // an answer without headers changes nothing
    expect(limits.pacing('openai/m@x')).toEqual({ requestsPerMinute: 570 }); // 5% below: room for the unpaced first wave
    limits.note('openai/m@x', 300);
    expect(limits.pacing('openai/m@x')).toEqual({ requestsPerMinute: 285 });
    expect(limits.pacing('anthropic/m@y')).toBeUndefined();
  });

  it('reads token limits too (OpenAI x-ratelimit-limit-tokens, Anthropic anthropic-ratelimit-tokens-limit)', () => {
    expect(announcedTokensPerMinute(new Headers({ 'x-ratelimit-limit-tokens': '200000' }))).toBe(200000);
    expect(announcedTokensPerMinute(new Headers({ 'anthropic-ratelimit-tokens-limit': '80000' }))).toBe(80000);
    expect(announcedTokensPerMinute(new Headers({ 'x-ratelimit-limit-requests': '600' }))).toBeUndefined();
    expect(announcedLimits(new Headers({ 'x-ratelimit-limit-requests': '600', 'x-ratelimit-limit-tokens': '90000' }))).toEqual({
      announcedRpm: 600,
      announcedTpm: 90000,
    });
  });

  it('paces a token limit as the request rate it allows at the tokens calls use, whichever of the two limits is stricter', () => {
    const limits = new AnnouncedLimits();
    // 60,000 tokens a minute, calls of 1,000 tokens: 60 calls a minute, stricter than the 600 requests.
    limits.note('k', 600, 60_000, 1_000);
    expect(limits.pacing('k')).toEqual({ requestsPerMinute: 57 });
    // Longer answers (a moving average, weight 0.1): 1,000 -> 2,000 -> 1,100 tokens a call: 54.5 a minute.
    limits.note('k', 600, 60_000, 2_000);
    expect(limits.pacing('k')).toEqual({ requestsPerMinute: Math.floor((60_000 / 1_100) * 0.95) });
    // Short calls: the request limit is the stricter one.
    const short = new AnnouncedLimits();
    short.note('k', 600, 60_000, 50);
    expect(short.pacing('k')).toEqual({ requestsPerMinute: 570 });
    // A token limit alone, before any call's tokens are known: nothing to pace by yet.
    const first = new AnnouncedLimits();
    first.note('k', undefined, 60_000, undefined);
    expect(first.pacing('k')).toBeUndefined();
  });
});
