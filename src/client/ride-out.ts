/**
 * Waiting on a run through an outage of the Temporal frontend: the run goes on on the server (its
 * workers reconnect on their own), so a client that lost the connection keeps asking instead of
 * ending with "Failed to get Workflow execution history" while the run completes without it.
 */
import { ServiceError } from '@temporalio/client';
import { DataSetGeneratorError } from '../errors';

/** gRPC codes of a server that cannot be reached right now (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED). */
const TRANSIENT_CODES = new Set([14, 4, 8, 10]);

/** Whether `err` (or a cause of it) says the Temporal service could not be reached for now. */
export function isServiceUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && TRANSIENT_CODES.has(code)) return true;
    if (e instanceof ServiceError && /UNAVAILABLE|DEADLINE_EXCEEDED|connect|No connection established/i.test(String(e.cause ?? e.message))) return true;
  }
  return false;
}

/** The run is fine on the server, but this client could not reach Temporal for longer than its patience. */
export class ConnectionLostError extends DataSetGeneratorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'generator_error', options);
    this.name = 'ConnectionLostError';
  }
}

export interface RideOutOptions {
  /** How long an outage may last before giving up (ms). */
  patienceMs: number;
  /** Pause between attempts (ms). */
  delayMs: number;
  /** Told once per outage, when it starts, and when the connection is back. */
  onLost?: (err: unknown) => void;
  onBack?: () => void;
  /** What to say when patience runs out (the run's id, where it lives). */
  giveUp: (err: unknown, waitedMs: number) => string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs `op` again while it fails because Temporal cannot be reached, for up to `patienceMs` of one outage. */
export async function rideOut<T>(op: () => Promise<T>, o: RideOutOptions): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let lostSince: number | undefined;
  for (;;) {
    try {
      const value = await op();
      if (lostSince !== undefined) o.onBack?.();
      return value;
    } catch (err) {
      if (!isServiceUnreachable(err)) throw err;
      if (lostSince === undefined) {
        lostSince = now();
        o.onLost?.(err);
      }
      const waited = now() - lostSince;
      if (waited >= o.patienceMs) throw new ConnectionLostError(o.giveUp(err, waited), { cause: err });
      await sleep(o.delayMs);
    }
  }
}
