import { describe, expect, it } from 'vitest';
import { LeaseClock, leaseTiming } from './lease-clock.js';

describe('leaseTiming', () => {
  it.each([3_000, 6_000, 15_000, 120_000])('for a %i ms TTL: renewals fit twice before the socket closes, each call times out inside the margin', (ttlMs) => {
    const timing = leaseTiming(ttlMs);
    // Two renewals after the confirmed one, each answered or timed out before the close.
    expect(2 * timing.renewEveryMs + timing.redisTimeoutMs).toBeLessThan(ttlMs - timing.closeMarginMs);
    expect(timing.redisTimeoutMs).toBeLessThan(timing.closeMarginMs);
    expect(timing.closeMarginMs).toBeGreaterThanOrEqual(750);
  });
});

describe('LeaseClock', () => {
  const timing = leaseTiming(6_000);

  it('keeps a session until the TTL, less the margin, counted from when the confirmed request was sent', () => {
    const clock = new LeaseClock(timing);
    clock.confirmed('s1', 1_000);
    expect(clock.overdue(1_000 + 6_000 - timing.closeMarginMs - 1)).toEqual([]);
    expect(clock.overdue(1_000 + 6_000 - timing.closeMarginMs)).toEqual(['s1']);
  });

  it('moves only forward: a late answer to an older renewal does not shorten the lease', () => {
    const clock = new LeaseClock(timing);
    clock.confirmed('s1', 5_000);
    clock.confirmed('s1', 2_000);
    expect(clock.overdue(2_000 + 6_000)).toEqual([]);
    expect(clock.overdue(5_000 + 6_000)).toEqual(['s1']);
  });

  it('tells each session apart, and forgets the ones that ended', () => {
    const clock = new LeaseClock(timing);
    clock.confirmed('s1', 0);
    clock.confirmed('s2', 3_000);
    expect(clock.overdue(6_000)).toEqual(['s1']);
    clock.forget('s1');
    expect(clock.overdue(60_000)).toEqual(['s2']);
  });
});
