/**
 * The limit of an endpoint that announces none, learned from its 429s (issue 22): additive increase,
 * multiplicative decrease, per worker process. A run told no `rate_limit`, at an endpoint whose
 * answers carry no rate-limit headers (many OpenAI-compatible servers and gateways), calls as fast as
 * its concurrency allows until 429s say it meets a limit. This worker then keeps, per endpoint:
 *
 * - a learned limit `L`, in calls per minute, used two ways: calls are spaced `60 s / L` apart, and
 *   no more than `L` of this worker's calls (accepted or in flight) sit in any sliding minute, so
 *   after a burst that filled the provider's window the worker waits for it to drain instead of
 *   answering its own 429s with more calls;
 * - multiplicative decrease: each 429 (at most one cut a second: the calls in flight when the limit
 *   was met are one signal) cuts `L` by 15%, never below a quarter of the first estimate;
 * - additive increase: `L` grows by 2% every 10 s without a cut, probing a limit that rose and
 *   letting workers that share an endpoint rebalance their shares (like TCP flows, each worker's
 *   cuts and growth converge to a fair share of the provider's limit without talking to each other).
 *
 * When is a 429 a limit? A provider also answers 429 when it is overloaded, whatever the caller's
 * rate; slowing down for those would only slow the run (each such call is retried as before). So
 * learning starts with a 429 that says so: a `retry-after` of 2 s or more (the provider's window is
 * full), or half of the last 10 s of answers (at least 20) being 429s, or a fifth for 5 s on end. Its first estimate: with a long
 * `retry-after`, the calls the provider accepted in the minute before (a per-minute window); else the
 * rate it accepted them at (a per-second limit).
 *
 * A told limit wins, then an announced one (both paced through the store and shared by every worker:
 * pacing.ts); this is the fallback for endpoints that say nothing. Pure time arithmetic (`now` is
 * passed in): the batch runner waits the `delay` it returns.
 */

/** The share of `L` a cut leaves. */
const DECREASE = 0.85;
/** 429s closer together than this are one signal. */
const CUT_GAP_MS = 1_000;
/** `L` grows by this share ... */
const INCREASE = 0.02;
/** ... every this many milliseconds without a cut. */
const INCREASE_EVERY_MS = 10_000;
/** The providers' window (and this worker's memory of its calls). */
const WINDOW_MS = 60_000;
/** Cuts never take `L` below this share of the first estimate. */
const FLOOR_SHARE = 0.25;
/** A `retry-after` this long says the provider's window is full. */
const LONG_RETRY_AFTER_MS = 2_000;
/** Answers looked at for the share of 429s (at least this many) ... */
const RECENT_MS = 10_000;
const RECENT_MIN_ANSWERS = 20;
/** ... a share that says "a limit" at once ... */
const LIMITED_SHARE = 0.5;
/** ... and one that says so when it holds for `PERSISTS_MS` (an overloaded provider's 429s come and go). */
const LIMITED_SHARE_PERSISTENT = 0.2;
const PERSISTS_MS = 5_000;

interface EndpointState {
  /** The first call this worker started (the estimate's time base while shorter than a minute). */
  firstStart: number;
  /** Start times of calls in the window that were not answered 429 (in flight or accepted), ascending. */
  starts: number[];
  /** Recent answers: when, and whether 429. */
  recent: { at: number; limited: boolean }[];
  /** Since when the share of 429s has stayed at `LIMITED_SHARE_PERSISTENT` or more. */
  highSince?: number | undefined;
  learned?: {
    /** `window`: learned from a full window (a per-minute limit); `rate`: from the rate calls were accepted at. */
    mode: 'window' | 'rate';
    /** `L` after the last cut. */
    limit: number;
    floor: number;
    cutAt: number;
    lastStart: number;
  };
}

export class LearnedLimits {
  private readonly byKey = new Map<string, EndpointState>();

  private state(key: string, now: number): EndpointState {
    let s = this.byKey.get(key);
    if (!s) this.byKey.set(key, (s = { firstStart: now, starts: [], recent: [] }));
    return s;
  }

  /** The limit learned for `key` at `now`, calls per minute (undefined while none is learned): the last cut plus its growth. */
  limit(key: string, now: number): number | undefined {
    const l = this.byKey.get(key)?.learned;
    if (!l) return undefined;
    return l.limit * (1 + INCREASE * Math.floor(Math.max(0, now - l.cutAt) / INCREASE_EVERY_MS));
  }

  /** Milliseconds before a call to `key` may start at `now` (0: now; always 0 while no limit is learned). */
  delay(key: string, now: number): number {
    const s = this.byKey.get(key);
    if (!s?.learned) return 0;
    prune(s.starts, now - WINDOW_MS);
    const limit = this.limit(key, now)!;
    const bySpacing = s.learned.lastStart + WINDOW_MS / limit - now;
    // The window is full: wait until enough of its oldest calls leave it.
    const cap = Math.max(1, Math.floor(limit));
    const byWindow = s.starts.length >= cap ? s.starts[s.starts.length - cap]! + WINDOW_MS - now : 0;
    return Math.max(0, bySpacing, byWindow);
  }

  /** A call to `key` starts at `now`; returns its start time, to give back with its answer. */
  started(key: string, now: number): number {
    const s = this.state(key, now);
    prune(s.starts, now - WINDOW_MS);
    s.starts.push(now);
    if (s.learned) s.learned.lastStart = now;
    return now;
  }

  /** A call to `key` was answered (not 429) at `now`. */
  answered(key: string, now: number): void {
    this.note(this.state(key, now), now, false);
  }

  /**
   * The call started at `startedAt` was answered 429 at `now` (with the provider's `retry-after`, if
   * any): it leaves the window, and the limit is learned or cut.
   */
  rateLimited(key: string, startedAt: number, now: number, retryAfterMs?: number): void {
    const s = this.state(key, now);
    const i = s.starts.lastIndexOf(startedAt);
    if (i >= 0) s.starts.splice(i, 1);
    prune(s.starts, now - WINDOW_MS);
    this.note(s, now, true);
    const accepted = Math.max(1, s.starts.length);
    const l = s.learned;
    if (!l) {
      const windowFull = (retryAfterMs ?? 0) >= LONG_RETRY_AFTER_MS;
      if (!windowFull && !this.limitedShare(s, now)) return; // an overloaded provider, not (yet) a limit
      const span = Math.min(WINDOW_MS, Math.max(1_000, now - s.firstStart));
      const limit = windowFull ? accepted : (accepted * WINDOW_MS) / span;
      s.learned = { mode: windowFull ? 'window' : 'rate', limit, floor: limit * FLOOR_SHARE, cutAt: now, lastStart: now };
      return;
    }
    if (now - l.cutAt < CUT_GAP_MS) {
      // The rest of a full window's 429s (calls that were in flight): the limit is never above what it accepted.
      if (l.mode === 'window') l.limit = Math.max(l.floor, Math.min(l.limit, accepted));
      return;
    }
    l.limit = Math.max(l.floor, this.limit(key, now)! * DECREASE);
    l.cutAt = now;
  }

  /** Whether the recent answers' 429s say a limit: half of them, or a fifth for `PERSISTS_MS`. */
  private limitedShare(s: EndpointState, now: number): boolean {
    if (s.recent.length < RECENT_MIN_ANSWERS) return false;
    const share = s.recent.filter((r) => r.limited).length / s.recent.length;
    if (share < LIMITED_SHARE_PERSISTENT) {
      s.highSince = undefined;
      return false;
    }
    s.highSince ??= now;
    return share >= LIMITED_SHARE || now - s.highSince >= PERSISTS_MS;
  }

  private note(s: EndpointState, now: number, limited: boolean): void {
    s.recent.push({ at: now, limited });
    let n = 0;
    while (n < s.recent.length && s.recent[n]!.at <= now - RECENT_MS) n++;
    if (n) s.recent.splice(0, n);
  }
}

/** Drops the times at or before `before` from the front of an ascending list. */
function prune(times: number[], before: number): void {
  let n = 0;
  while (n < times.length && times[n]! <= before) n++;
  if (n) times.splice(0, n);
}
