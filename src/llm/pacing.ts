/**
 * Pacing model calls at a provider's request limit, shared by every worker of a store: a GCRA
 * ("generic cell rate algorithm") per model endpoint. The state is one number per endpoint, the
 * theoretical arrival time `tat` of the next call, plus the current spacing `intervalMs`; each call
 * reserves a slot with one atomic update in the run store (a row in PostgreSQL, a locked file in a
 * folder), so workers on any number of processes and machines together stay under the limit.
 *
 * A 429 doubles the spacing (up to 4 times the configured one) for everyone, at most once per
 * second (the 429s of calls already in flight when the limit dropped are one signal, not ten); the
 * extra spacing then halves every 5 seconds of wall time, down to a floor learned from the 429s (a
 * quarter above the spacing that met the first 429 of an episode, fading with a one-minute half-life), so the rate climbs
 * back quickly after a storm of 429s and settles just under a lower limit the provider imposes
 * instead of bursting into it again. Recovery was per call before: after a storm at 16 times the
 * spacing, the few calls it allowed took more than a minute to bring the rate back.
 */

/** Pacing settings of a run: the provider's limit in requests per minute, and the burst allowed. */
export interface PacingSettings {
  requestsPerMinute: number;
  /** Calls that may go back to back after an idle period (default 1: strictly spaced). */
  burst?: number | undefined;
}

/** The pacing state of one endpoint. */
export interface PacingState {
  tat: number;
  /** The spacing set by the last 429 (or the configured one). */
  intervalMs: number;
  /** When the last 429 set `intervalMs` (absent in state written before time-based recovery: per-call recovery). */
  slowedAt?: number | undefined;
  /**
   * The spacing learned from the 429s: a quarter slower than the spacing in force at the last one.
   * Recovery stops there instead of at the configured spacing, and the floor itself fades (half-life
   * a minute), so the rate settles just under a lower limit and later probes back up.
   */
  floorMs?: number | undefined;
}

/** The extra spacing a 429 adds halves every this many milliseconds. */
const RECOVERY_HALF_LIFE_MS = 5_000;
/** 429s closer together than this count as one. */
const SLOWDOWN_GAP_MS = 1_000;
/**
 * The most a 429 storm slows the spacing: 4 times the configured one. Reservations made during a
 * storm are commitments (GCRA), so a larger factor leaves a backlog: at 16 times, 32 waiting calls
 * were booked 50 s ahead, and the rate stayed low long after the provider accepted calls again.
 */
const MAX_SLOWDOWN = 4;
/** 429s more than this apart start a new episode (and teach a new floor). */
const EPISODE_GAP_MS = 10_000;
/** The learned floor's extra over the configured spacing halves every this many milliseconds. */
const FLOOR_HALF_LIFE_MS = 60_000;

/** The spacing in force at `now`: the configured one plus what is left of the last 429's extra. */
export function currentInterval(state: PacingState | undefined, now: number, s: PacingSettings): number {
  const base = baseInterval(s);
  const set = Math.max(base, state?.intervalMs ?? base);
  if (state?.slowedAt === undefined) return set;
  const since = Math.max(0, now - state.slowedAt);
  const floor = base + Math.max(0, (state.floorMs ?? base) - base) * 0.5 ** (since / FLOOR_HALF_LIFE_MS);
  return Math.max(floor, base + (set - base) * 0.5 ** (since / RECOVERY_HALF_LIFE_MS));
}

/**
 * The configured spacing of calls, in milliseconds. GCRA lets `burst` calls go back to back on top
 * of the steady rate, so the spacing leaves room for them: no sliding minute ever holds more than
 * `requestsPerMinute` calls (providers count per sliding window).
 */
export function baseInterval(s: PacingSettings): number {
  const burst = Math.max(1, s.burst ?? 1);
  return 60_000 / Math.max(1, s.requestsPerMinute - burst);
}

/**
 * One reservation at `now`: when the call may start, and the new state. Pure (the stores run it
 * inside their atomic update).
 */
export function reserve(state: PacingState | undefined, now: number, s: PacingSettings): { startAt: number; state: PacingState } {
  const base = baseInterval(s);
  let interval: number;
  let kept: Pick<PacingState, 'intervalMs' | 'slowedAt' | 'floorMs'>;
  if (state?.slowedAt !== undefined) {
    interval = currentInterval(state, now, s);
    kept = { intervalMs: state.intervalMs, slowedAt: state.slowedAt, ...(state.floorMs !== undefined ? { floorMs: state.floorMs } : {}) };
  } else {
    // State from before time-based recovery: each reservation takes back 5% of the extra spacing.
    const current = Math.max(base, state?.intervalMs ?? base);
    interval = Math.max(base, current - (current - base) * 0.05);
    kept = { intervalMs: interval };
  }
  const tau = (Math.max(1, s.burst ?? 1) - 1) * interval;
  const tatOld = state?.tat ?? now;
  const startAt = Math.max(now, tatOld - tau);
  return { startAt, state: { tat: Math.max(tatOld, now) + interval, ...kept } };
}

/**
 * After a 429: the spacing in force doubles (at most `MAX_SLOWDOWN` times the configured one); the first 429 of
 * an episode sets the floor a quarter above the spacing it met; 429s within a second count once.
 */
export function slowDown(state: PacingState | undefined, now: number, s: PacingSettings): PacingState {
  const base = baseInterval(s);
  if (state?.slowedAt !== undefined && now - state.slowedAt < SLOWDOWN_GAP_MS) return state;
  const current = currentInterval(state, now, s);
  // The floor is learned from the first 429 of an episode (the spacing that met the limit), not from
  // the spacing the episode's later 429s compounded to.
  const newEpisode = state?.slowedAt === undefined || now - state.slowedAt > EPISODE_GAP_MS;
  const floorMs = newEpisode ? Math.min(base * MAX_SLOWDOWN, current * 1.25) : (state?.floorMs ?? base);
  return { tat: Math.max(state?.tat ?? now, now), intervalMs: Math.min(base * MAX_SLOWDOWN, current * 2), slowedAt: now, floorMs };
}

/** A store that keeps pacing state for endpoints (see `FsPacer` and the PostgreSQL store). */
export interface Pacer {
  /** Reserves one call's slot; returns milliseconds to wait before starting it. */
  reserve(key: string, s: PacingSettings): Promise<number>;
  /** Reserves one call's slot; returns it and the time it was reserved at, both on the store's clock. */
  reserveSlot(key: string, s: PacingSettings): Promise<{ startAt: number; now: number }>;
  /** Reports a 429 from the endpoint: every worker's calls slow down. */
  slowDown(key: string, s: PacingSettings): Promise<void>;
}

/**
 * The limits providers announced to this process on their answers (rate-limit headers, see
 * rate-limit-headers.ts), per endpoint key. A run told no `rate_limit` paces at the announced limit
 * through the store's shared state, like a told one (every worker of the endpoint reads the same
 * headers, so they share one spacing); a told limit wins. The latest announcement counts: a limit
 * the provider changes mid-run is followed from the next call.
 *
 * A token limit (tokens per minute) is paced as the request rate it allows: the limit divided by
 * the tokens a call of this endpoint uses (input and output, a moving average of this worker's
 * answers), and the stricter of that and the request limit counts. So a run of long answers meets a
 * provider's TPM limit, not only its RPM.
 */
/** The share of an announced limit a run paces at. */
const ANNOUNCED_SHARE = 0.95;
/** Weight of the latest call in the moving average of tokens per call. */
const TOKENS_EMA = 0.1;

export class AnnouncedLimits {
  private readonly byKey = new Map<string, { rpm?: number | undefined; tpm?: number | undefined; tokensPerCall?: number | undefined }>();
  /** Notes an answer's announcements and the tokens the call used (input plus output). */
  note(key: string, requestsPerMinute: number | undefined, tokensPerMinute?: number | undefined, tokensOfCall?: number | undefined): void {
    const k = this.byKey.get(key) ?? {};
    if (requestsPerMinute !== undefined && requestsPerMinute >= 1) k.rpm = requestsPerMinute;
    if (tokensPerMinute !== undefined && tokensPerMinute >= 1) k.tpm = tokensPerMinute;
    if (tokensOfCall !== undefined && tokensOfCall > 0)
      k.tokensPerCall = k.tokensPerCall === undefined ? tokensOfCall : k.tokensPerCall + TOKENS_EMA * (tokensOfCall - k.tokensPerCall);
    if (k.rpm !== undefined || k.tpm !== undefined || k.tokensPerCall !== undefined) this.byKey.set(key, k);
  }
  /**
   * Pacing 5% below the endpoint's announced limit (room for the unpaced first wave, sent before any
   * answer announced it, and for the provider's window starting elsewhere than ours); undefined before
   * it announced one. Measured at an announced 600/min: 2.2% of calls met a 429 paced at the limit itself.
   */
  pacing(key: string): PacingSettings | undefined {
    const k = this.byKey.get(key);
    if (!k) return undefined;
    const byTokens = k.tpm !== undefined && k.tokensPerCall !== undefined ? k.tpm / k.tokensPerCall : undefined;
    const rpm = Math.min(k.rpm ?? Infinity, byTokens ?? Infinity);
    return Number.isFinite(rpm) ? { requestsPerMinute: Math.max(1, Math.floor(rpm * ANNOUNCED_SHARE)) } : undefined;
  }
}

/** Endpoint key for pacing: the same model at the same endpoint shares one limit. */
export function pacingKey(model: { provider: string; model: string; baseUrl?: string | undefined }): string {
  return `${model.provider}/${model.model}@${model.baseUrl ?? 'default'}`;
}

/** The longest a paced call waits for its slot (a 429 storm slows pacing down, and the calls waiting are booked at that spacing). */
export const MAX_PACED_WAIT_SECONDS = 900;
