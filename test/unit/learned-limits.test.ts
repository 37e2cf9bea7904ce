/**
 * The limit learned from 429s alone (issue 22), against a simulated provider in virtual time: a
 * sliding-minute limit that answers 429 to calls beyond it (as the local LLM server and the providers
 * do), workers with a number of call slots each, and a model latency. No clock, no timers: the same
 * run gives the same numbers on any machine.
 */
import { LearnedLimits } from '../../src/llm/learned-limits';

interface Sim {
  /** The provider's limit (calls per sliding minute) at virtual time t. */
  limit: (t: number) => number;
  /** Instead: a token bucket of `perSecond` calls a second holding at most `burst` (limits enforced per second). */
  bucket?: { perSecond: number; burst: number };
  /** Share of calls answered 429 whatever the rate (an overloaded provider), decided by a seeded die. */
  random429?: number;
  workers: number;
  slots: number;
  latencyMs: number;
  durationMs: number;
}

interface Call {
  start: number;
  ok: boolean;
  worker: number;
}

/** Runs the workers' calls against the provider until `durationMs`; every call, in start order. */
function simulate(s: Sim): Call[] {
  const key = 'openai/m@local';
  const learned = Array.from({ length: s.workers }, () => new LearnedLimits());
  const accepted: number[] = [];
  const calls: Call[] = [];
  let tokens = s.bucket?.burst ?? 0;
  let filledAt = 0;
  let seed = 7;
  const die = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  // Each slot: when it next wants to start a call.
  const slots = Array.from({ length: s.workers * s.slots }, (_, i) => ({ worker: Math.floor(i / s.slots), next: 0 }));
  for (;;) {
    const slot = slots.reduce((a, b) => (b.next < a.next ? b : a));
    const t = slot.next;
    if (t >= s.durationMs) break;
    const l = learned[slot.worker]!;
    const wait = l.delay(key, t);
    if (wait > 0) {
      slot.next = t + wait;
      continue;
    }
    const token = l.started(key, t);
    // Each 429 carries a retry-after, as the local LLM server sends it: when capacity comes back.
    let ok: boolean;
    let retryAfterMs = 1000;
    if (s.random429 !== undefined && die() < s.random429) ok = false;
    else if (s.bucket) {
      tokens = Math.min(s.bucket.burst, tokens + ((t - filledAt) / 1000) * s.bucket.perSecond);
      filledAt = t;
      ok = tokens >= 1;
      if (ok) tokens -= 1;
      else retryAfterMs = Math.ceil(((1 - tokens) / s.bucket.perSecond) * 1000);
    } else {
      while (accepted.length && accepted[0]! <= t - 60_000) accepted.shift();
      ok = accepted.length < s.limit(t);
      if (ok) accepted.push(t);
      else retryAfterMs = Math.max(1000, Math.ceil((accepted[0]! + 60_000 - t) / 1000) * 1000);
    }
    calls.push({ start: t, ok, worker: slot.worker });
    const end = t + s.latencyMs;
    if (ok) l.answered(key, end);
    else l.rateLimited(key, token, end, retryAfterMs);
    slot.next = end;
  }
  return calls;
}

const between = (calls: Call[], a: number, b: number) => calls.filter((c) => c.start >= a && c.start < b);
const okIn = (calls: Call[], a: number, b: number) => between(calls, a, b).filter((c) => c.ok).length;
const limitedShare = (calls: Call[]) => calls.filter((c) => !c.ok).length / calls.length;
/** The longest time without an accepted call. */
const longestGap = (calls: Call[], from: number, to: number) => {
  const oks = [from, ...calls.filter((c) => c.ok && c.start >= from && c.start < to).map((c) => c.start), to];
  return Math.max(...oks.slice(1).map((t, i) => t - oks[i]!));
};

describe('LearnedLimits', () => {
  it('before any 429 it never holds a call back', () => {
    const l = new LearnedLimits();
    for (let t = 0; t < 10_000; t += 1) {
      expect(l.delay('k', t)).toBe(0);
      l.started('k', t);
    }
    expect(l.limit('k', 10_000)).toBeUndefined();
  });

  it('a 429 with a long retry-after (a full window) sets the limit to the calls accepted in the minute before; later ones cut it by 15%, at most once a second', () => {
    const l = new LearnedLimits();
    const starts = Array.from({ length: 50 }, (_, i) => l.started('k', i * 100));
    l.rateLimited('k', starts[49]!, 5_000, 55_000); // 49 accepted before it
    expect(l.limit('k', 5_000)).toBe(49);
    l.rateLimited('k', starts[48]!, 5_500, 55_000); // within the second: the same signal, but the limit is never above what was accepted
    expect(l.limit('k', 5_500)).toBe(48);
    l.rateLimited('k', l.started('k', 7_000), 7_000, 1_000);
    expect(l.limit('k', 7_000)).toBeCloseTo(48 * 0.85, 5);
    // Additive increase: 2% per 10 s without a cut.
    expect(l.limit('k', 27_000)).toBeCloseTo(48 * 0.85 * 1.04, 5);
    // Cuts stop at a quarter of the first estimate.
    for (let t = 30_000; t < 60_000; t += 1_500) l.rateLimited('k', l.started('k', t), t, 1_000);
    expect(l.limit('k', 60_000)).toBeCloseTo(49 / 4, 5);
  });

  it('a 429 with a short retry-after teaches nothing while a tenth of the answers are 429s; half of them teach the rate they were accepted at', () => {
    const l = new LearnedLimits();
    let t = 0;
    // 20 calls a second, one in ten answered 429: an overloaded provider.
    for (; t < 5_000; t += 50) {
      const s = l.started('k', t);
      if (t % 500 === 0) l.rateLimited('k', s, t, 1_000);
      else l.answered('k', t);
    }
    expect(l.limit('k', t)).toBeUndefined();
    expect(l.delay('k', t)).toBe(0);
    // Then half of them: a limit of about 10 a second.
    for (; t < 15_000 && l.limit('k', t) === undefined; t += 50) {
      const s = l.started('k', t);
      if (t % 100 === 0) l.rateLimited('k', s, t, 100);
      else l.answered('k', t);
    }
    // Learned once the 429s of the last 10 s had stayed at a fifth or more for 5 s (the share passed a
    // fifth at about 6.5 s): the calls accepted so far, per minute (18 a second for 5 s, then 10).
    expect(t).toBeGreaterThan(11_000);
    expect(t).toBeLessThan(12_500);
    const learned = l.limit('k', t)!;
    expect(learned).toBeGreaterThan(600);
    expect(learned).toBeLessThan(1080);
  });

  it('a full window holds calls until its oldest leaves it', () => {
    const l = new LearnedLimits();
    const starts = Array.from({ length: 11 }, (_, i) => l.started('k', i));
    l.rateLimited('k', starts[10]!, 100, 59_900); // limit 10, the window full of calls started at 0..9
    expect(l.delay('k', 100)).toBe(60_000 - 100);
    expect(l.delay('k', 60_000)).toBe(0); // the call of t=0 left the window
    l.started('k', 60_000);
    // Then the spacing: 60 s / the limit, which grew by 2% for each whole 10 s since the 429 at 100 ms (10 -> 11).
    expect(l.delay('k', 60_000)).toBeCloseTo(60_000 / (10 * 1.1), 5);
  });

  it('an unannounced 600/min limit: at least 90% of it used over five minutes, under 2% of calls answered 429, no stall', () => {
    const calls = simulate({ limit: () => 600, workers: 1, slots: 32, latencyMs: 200, durationMs: 5 * 60_000 });
    const used = okIn(calls, 0, 5 * 60_000) / (600 * 5);
    console.log(
      `unannounced 600/min, one worker: ${(used * 100).toFixed(1)}% of the limit used, ${(limitedShare(calls) * 100).toFixed(2)}% of ${calls.length} calls answered 429`,
    );
    expect(used).toBeGreaterThanOrEqual(0.9);
    expect(used).toBeLessThanOrEqual(1);
    expect(limitedShare(calls)).toBeLessThan(0.02);
    // After the first minute's burst (the provider lets nothing more through until it drains), calls flow.
    expect(longestGap(calls, 60_000, 5 * 60_000)).toBeLessThan(10_000);
  });

  it('a limit halved mid-run is followed within a minute, and then used at 85% or more with under 2% of calls answered 429', () => {
    const half = 4 * 60_000;
    const calls = simulate({ limit: (t) => (t < half ? 600 : 300), workers: 1, slots: 32, latencyMs: 200, durationMs: half + 4 * 60_000 });
    const after = between(calls, half + 60_000, half + 4 * 60_000);
    expect(limitedShare(after)).toBeLessThan(0.02);
    const used = okIn(calls, half + 60_000, half + 4 * 60_000) / (300 * 3);
    const last429 =
      Math.max(
        ...between(calls, half, half + 60_000)
          .filter((c) => !c.ok)
          .map((c) => c.start),
      ) - half;
    console.log(
      `halved to 300/min: ${(used * 100).toFixed(1)}% used after the first minute, ${(limitedShare(after) * 100).toFixed(2)}% answered 429; 429s of the halving end ${last429} ms after it`,
    );
    expect(used).toBeGreaterThanOrEqual(0.85);
    expect(used).toBeLessThanOrEqual(1);
  });

  it('three workers that share the endpoint, each learning alone, together use at least 85% of it with under 2% of calls answered 429', () => {
    const calls = simulate({ limit: () => 600, workers: 3, slots: 16, latencyMs: 200, durationMs: 6 * 60_000 });
    const used = okIn(calls, 60_000, 6 * 60_000) / (600 * 5);
    console.log(`three workers: ${(used * 100).toFixed(1)}% used, ${(limitedShare(between(calls, 60_000, 6 * 60_000)) * 100).toFixed(2)}% answered 429`);
    expect(used).toBeGreaterThanOrEqual(0.85);
    expect(limitedShare(between(calls, 60_000, 6 * 60_000))).toBeLessThan(0.02);
    // Every worker keeps a share (none starved).
    for (const w of [0, 1, 2]) expect(between(calls, 60_000, 6 * 60_000).filter((c) => c.worker === w && c.ok).length).toBeGreaterThan(300);
  });

  it('a provider answering 10% of calls 429 whatever the rate (overloaded, not a limit): the run keeps at least half its pace', () => {
    const free = simulate({ limit: () => Infinity, workers: 1, slots: 8, latencyMs: 500, durationMs: 5 * 60_000 });
    const calls = simulate({ limit: () => Infinity, random429: 0.1, workers: 1, slots: 8, latencyMs: 500, durationMs: 5 * 60_000 });
    const pace = okIn(calls, 4 * 60_000, 5 * 60_000) / okIn(free, 4 * 60_000, 5 * 60_000);
    console.log(`random 10% 429s: ${(pace * 100).toFixed(1)}% of the unpaced rate in the fifth minute`);
    expect(pace).toBeGreaterThanOrEqual(0.5);
  });

  it('a limit enforced per second (a token bucket of 10 a second, bursts of 10): at least 80% of it used, under 3% of calls answered 429', () => {
    const calls = simulate({ limit: () => Infinity, bucket: { perSecond: 10, burst: 10 }, workers: 1, slots: 32, latencyMs: 200, durationMs: 5 * 60_000 });
    const used = okIn(calls, 60_000, 5 * 60_000) / (600 * 4);
    console.log(
      `token bucket 10/s: ${(used * 100).toFixed(1)}% used after the first minute, ${(limitedShare(between(calls, 60_000, 5 * 60_000)) * 100).toFixed(2)}% answered 429`,
    );
    expect(used).toBeGreaterThanOrEqual(0.8);
    expect(limitedShare(between(calls, 60_000, 5 * 60_000))).toBeLessThan(0.03);
  });

  it('a slow endpoint that never answers 429 is never paced', () => {
    const calls = simulate({ limit: () => Infinity, workers: 1, slots: 8, latencyMs: 2000, durationMs: 60_000 });
    expect(calls).toHaveLength(8 * 30);
  });
});
