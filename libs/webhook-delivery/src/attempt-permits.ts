import { Waiters } from './waiters.js';

/**
 * At most `limit` attempts in flight in this process, whichever way they started (straight after a
 * fan-out or from a queued job). Waiters are served first come, first served; a freed permit passes
 * straight to the longest waiter.
 */
export class AttemptPermits {
  private available: number;
  private readonly waiters = new Waiters();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`permit limit must be a positive integer, got ${limit}`);
    this.available = limit;
  }

  /** Permits free now. */
  get free(): number {
    return this.available;
  }

  /** True once a permit is held; false when none came free within `waitMs` (no bound when omitted). */
  acquire(waitMs?: number): Promise<boolean> {
    if (this.available > 0) {
      this.available -= 1;
      return Promise.resolve(true);
    }
    if (waitMs !== undefined && waitMs <= 0) return Promise.resolve(false);
    // A waiter woken holds the permit its releaser handed over.
    return this.waiters.wait(waitMs);
  }

  release(): void {
    if (!this.waiters.wakeOne()) this.available += 1;
  }
}
