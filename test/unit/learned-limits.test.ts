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
    while (accepted.length && accepted[0]! <= t - 60_000) accepted.shift();
    const ok = accepted.length < s.limit(t);
    if (ok) accepted.push(t);
    calls.push({ start: t, ok, worker: slot.worker });
    const end = t + s.latencyMs;
    if (!ok) l.rateLimited(key, token, end);
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

  it('the first 429 sets the limit to the calls accepted in the minute before; later ones cut it by 15%, at most once a second', () => {
    const l = new LearnedLimits();
    const starts = Array.from({ length: 50 }, (_, i) => l.started('k', i * 100));
    l.rateLimited('k', starts[49]!, 5_000); // 49 accepted before it
    expect(l.limit('k', 5_000)).toBe(49);
    l.rateLimited('k', starts[48]!, 5_500); // within the second: no cut, but never above what was accepted (48)
    expect(l.limit('k', 5_500)).toBe(48);
    const late = l.started('k', 7_000);
    l.rateLimited('k', late, 7_000);
    expect(l.limit('k', 7_000)).toBeCloseTo(48 * 0.85, 5);
    // Additive increase: 2% per 10 s without a 429.
    expect(l.limit('k', 27_000)).toBeCloseTo(48 * 0.85 * 1.04, 5);
  });

  it('a full window holds calls until its oldest leaves it', () => {
    const l = new LearnedLimits();
    const starts = Array.from({ length: 11 }, (_, i) => l.started('k', i));
    l.rateLimited('k', starts[10]!, 100); // limit 10, the window full of calls started at 0..9
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

  it('a slow endpoint that never answers 429 is never paced', () => {
    const calls = simulate({ limit: () => Infinity, workers: 1, slots: 8, latencyMs: 2000, durationMs: 60_000 });
    expect(calls).toHaveLength(8 * 30);
  });
});
