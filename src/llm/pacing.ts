/**
 * Pacing model calls at a provider's request limit, shared by every worker of a store: a GCRA
 * ("generic cell rate algorithm") per model endpoint. The state is one number per endpoint, the
 * theoretical arrival time `tat` of the next call, plus the current spacing `intervalMs`; each call
 * reserves a slot with one atomic update in the run store (a row in PostgreSQL, a locked file in a
 * folder), so workers on any number of processes and machines together stay under the limit.
 *
 * A 429 doubles the spacing (up to 16 times the configured one) for everyone; each answered call
 * takes back 5% of the extra spacing, so the rate climbs back to the limit within about a minute
 * of calls once the provider accepts them again, and follows a lower limit the provider imposes.
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
  intervalMs: number;
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
 * inside their atomic update). Each reservation takes back 5% of any extra spacing a 429 added.
 */
export function reserve(state: PacingState | undefined, now: number, s: PacingSettings): { startAt: number; state: PacingState } {
  const base = baseInterval(s);
  const current = Math.max(base, state?.intervalMs ?? base);
  const interval = Math.max(base, current - (current - base) * 0.05);
  const tau = (Math.max(1, s.burst ?? 1) - 1) * interval;
  const tatOld = state?.tat ?? now;
  const startAt = Math.max(now, tatOld - tau);
  return { startAt, state: { tat: Math.max(tatOld, now) + interval, intervalMs: interval } };
}

/** After a 429: the spacing doubles (at most 16 times the configured one). */
export function slowDown(state: PacingState | undefined, now: number, s: PacingSettings): PacingState {
  const base = baseInterval(s);
  const interval = Math.min(base * 16, Math.max(base, state?.intervalMs ?? base) * 2);
  return { tat: Math.max(state?.tat ?? now, now), intervalMs: interval };
}

/** A store that keeps pacing state for endpoints (see `FsPacer` and the PostgreSQL store). */
export interface Pacer {
  /** Reserves one call's slot; returns milliseconds to wait before starting it. */
  reserve(key: string, s: PacingSettings): Promise<number>;
  /** Reports a 429 from the endpoint: every worker's calls slow down. */
  slowDown(key: string, s: PacingSettings): Promise<void>;
}

/** Endpoint key for pacing: the same model at the same endpoint shares one limit. */
export function pacingKey(model: { provider: string; model: string; baseUrl?: string | undefined }): string {
  return `${model.provider}/${model.model}@${model.baseUrl ?? 'default'}`;
}
