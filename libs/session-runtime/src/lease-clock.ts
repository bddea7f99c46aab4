import { performance } from 'node:perf_hooks';

/**
 * The timing of a worker's leases, from the lease TTL. A worker renews every `renewEveryMs`; a renewal
 * sent at t that Redis confirmed keeps the lease at least until t + TTL (Redis restarted the TTL on
 * receiving it, after t). The worker closes a session's socket once `closeMarginMs` remain of that,
 * whatever Redis did meanwhile (answered "lost", failed, or never answered): a worker cut off from Redis
 * lets go before another can take the session over, so two of our sockets never overlap. Each Redis
 * call on the lease path gives up after `redisTimeoutMs`, well inside the margin, so two renewals
 * get a chance before the socket is closed.
 */
export interface LeaseTiming {
  ttlMs: number;
  renewEveryMs: number;
  closeMarginMs: number;
  redisTimeoutMs: number;
}

export function leaseTiming(ttlMs: number): LeaseTiming {
  const closeMarginMs = Math.floor(ttlMs / 4);
  return { ttlMs, renewEveryMs: Math.floor(ttlMs / 4), closeMarginMs, redisTimeoutMs: Math.min(2_000, Math.floor(closeMarginMs / 2)) };
}

/** Monotonic milliseconds: a wall-clock jump must not stretch or cut a lease. */
export const monotonicNow = (): number => performance.now();

/**
 * Until when, by this worker's own clock, it may keep each session it holds: moved forward by every
 * confirmed acquire or renewal, by the time the request was sent.
 */
export class LeaseClock {
  private readonly keepUntil = new Map<string, number>();

  constructor(private readonly timing: LeaseTiming) {}

  /** Redis confirmed the lease of `sessionId` for a request sent at `sentAt` (monotonic). */
  confirmed(sessionId: string, sentAt: number): void {
    const until = sentAt + this.timing.ttlMs - this.timing.closeMarginMs;
    if (until > (this.keepUntil.get(sessionId) ?? 0)) this.keepUntil.set(sessionId, until);
  }

  forget(sessionId: string): void {
    this.keepUntil.delete(sessionId);
  }

  /** The sessions whose socket must close now: no renewal confirmed in time. */
  overdue(now: number = monotonicNow()): string[] {
    return [...this.keepUntil].filter(([, until]) => now >= until).map(([sessionId]) => sessionId);
  }
}
