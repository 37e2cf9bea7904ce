/**
 * The call slots of one slice activity: at most `size` model calls of its batches run at once, and
 * a freed slot goes to the longest-waiting call (first come, first served), so the batches of a
 * slice are worked through in order and a slot never waits for the slowest call of a batch.
 */
export class CallSlots {
  private free: number;
  private readonly waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private closedWith: unknown;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`call slots: size must be a positive integer, got ${size}`);
    this.free = size;
  }

  /** Runs `fn` in a slot, waiting for one first; throws the closing reason once the slots are closed. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closedWith !== undefined) throw this.closedWith;
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next.resolve();
      else this.free++;
    }
  }

  /** No call starts any more (the run cannot go on): calls waiting, and later ones, fail with `reason`; running calls finish. */
  close(reason: unknown): void {
    this.closedWith ??= reason;
    for (const w of this.waiting.splice(0)) w.reject(this.closedWith);
  }

  /** Calls running or waiting (for tests and heartbeats). */
  get busy(): number {
    return this.size - this.free + this.waiting.length;
  }
}
