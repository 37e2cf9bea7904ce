/**
 * The limit of an endpoint that announces none, learned from its 429s (issue 22): additive increase,
 * multiplicative decrease, per worker process. A run told no `rate_limit`, at an endpoint whose
 * answers carry no rate-limit headers (many OpenAI-compatible servers and gateways), calls as fast as
 * its concurrency allows until the first 429. From then on this worker keeps, per endpoint:
 *
 * - a learned limit `L` in calls per sliding minute. The first 429 sets it to the calls this worker had
 *   accepted in the minute before (what the provider let through is the best measure of its window);
 *   each later 429 (at most one cut per `CUT_GAP_MS`) to the smaller of 85% of `L` and that count;
 * - a sliding window of this worker's accepted calls (and calls in flight): a call waits while the
 *   window holds `L` calls, so after the first 429 the worker waits for the provider's window to
 *   drain instead of answering its own 429s with more calls;
 * - an even spacing of `60 s / L`, so the learned share goes out smoothly, not in bursts;
 * - additive increase: `L` grows by 2% every 10 s without a 429, probing a limit that rose, and letting
 *   workers that share an endpoint rebalance their shares (like TCP flows, each worker's cuts and
 *   growth converge to a fair share of the provider's limit without talking to each other).
 *
 * A told limit wins, then an announced one (both paced through the store, shared by every worker:
 * pacing.ts); this is the fallback for endpoints that say nothing. Pure time arithmetic (`now` is
 * passed in); `LearnedLimits.wait` sleeps.
 */

/** The share of `L` a 429 after the first one leaves. */
const DECREASE = 0.85;
/** 429s closer together than this are one signal (the calls in flight when the limit was met). */
const CUT_GAP_MS = 1_000;
/** `L` grows by this share ... */
const INCREASE = 0.02;
/** ... every this many milliseconds without a 429. */
const INCREASE_EVERY_MS = 10_000;
/** The providers' window. */
const WINDOW_MS = 60_000;

interface Learned {
  /** The limit after the last cut. */
  limit: number;
  cutAt: number;
  /** Start times of this worker's calls in the window that were not answered 429 (in flight or accepted). */
  starts: number[];
  /** When the last call was let go (spacing). */
  lastStart: number;
}

export class LearnedLimits {
  private readonly byKey = new Map<string, Learned>();
  /** Start times of calls before any 429, per key: the first cut counts them. */
  private readonly early = new Map<string, number[]>();

  /** The limit learned for `key` at `now` (undefined before its first 429): the last cut plus its additive growth. */
  limit(key: string, now: number): number | undefined {
    const l = this.byKey.get(key);
    if (!l) return undefined;
    return l.limit * (1 + INCREASE * Math.floor(Math.max(0, now - l.cutAt) / INCREASE_EVERY_MS));
  }

  /**
   * Milliseconds to wait before a call to `key` may start at `now` (0: now). Before the first 429 it is
   * always 0. A call that may start must be `started` at once (it then counts in the window).
   */
  delay(key: string, now: number): number {
    const l = this.byKey.get(key);
    if (!l) return 0;
    prune(l.starts, now);
    const limit = this.limit(key, now)!;
    const spacing = WINDOW_MS / limit;
    const bySpacing = l.lastStart + spacing - now;
    // The window is full: wait until its oldest start leaves it.
    const byWindow = l.starts.length >= Math.floor(limit) ? l.starts[l.starts.length - Math.floor(limit)]! + WINDOW_MS - now : 0;
    return Math.max(0, bySpacing, byWindow);
  }

  /** A call to `key` starts at `now`; returns a token for `rateLimited` should it be answered 429. */
  started(key: string, now: number): number {
    const l = this.byKey.get(key);
    if (l) {
      l.starts.push(now);
      l.lastStart = now;
    } else {
      const early = this.early.get(key) ?? [];
      prune(early, now);
      early.push(now);
      this.early.set(key, early);
    }
    return now;
  }

  /** The call started at `startedAt` was answered 429 at `now`: it leaves the window, and the limit is cut. */
  rateLimited(key: string, startedAt: number, now: number): void {
    const l = this.byKey.get(key);
    const starts = l?.starts ?? this.early.get(key) ?? [];
    const i = starts.lastIndexOf(startedAt);
    if (i >= 0) starts.splice(i, 1);
    prune(starts, now);
    const accepted = Math.max(1, starts.length);
    if (!l) {
      this.byKey.set(key, { limit: accepted, cutAt: now, starts, lastStart: now });
      this.early.delete(key);
      return;
    }
    // The rest of a storm's 429s (calls that were in flight) cut no further, but the limit is never
    // above what the provider is seen to accept.
    if (now - l.cutAt < CUT_GAP_MS) {
      l.limit = Math.max(1, Math.min(l.limit, accepted));
      return;
    }
    l.limit = Math.max(1, Math.min(this.limit(key, now)! * DECREASE, accepted));
    l.cutAt = now;
  }

  /** Waits (cancellable) until a call to `key` may start, then counts it as started; returns its token. */
  async wait(key: string, signal: AbortSignal | undefined, now: () => number = Date.now): Promise<number> {
    for (;;) {
      const ms = this.delay(key, now());
      if (ms <= 0) return this.started(key, now());
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(done, ms);
        function done() {
          signal?.removeEventListener('abort', abort);
          resolve();
        }
        function abort() {
          clearTimeout(t);
          reject(signal!.reason ?? new Error('cancelled'));
        }
        signal?.addEventListener('abort', abort, { once: true });
      });
    }
  }
}

function prune(starts: number[], now: number): void {
  let n = 0;
  while (n < starts.length && starts[n]! <= now - WINDOW_MS) n++;
  if (n) starts.splice(0, n);
}
