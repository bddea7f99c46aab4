import { describe, expect, it } from 'vitest';
import { AttemptPermits } from './attempt-permits.js';

describe('AttemptPermits', () => {
  it('hands out at most its limit', async () => {
    const permits = new AttemptPermits(2);
    expect(await permits.acquire(0)).toBe(true);
    expect(await permits.acquire(0)).toBe(true);
    expect(await permits.acquire(0)).toBe(false);
    expect(permits.free).toBe(0);
    permits.release();
    expect(permits.free).toBe(1);
  });

  it('passes a freed permit to the longest waiter, first come first served', async () => {
    const permits = new AttemptPermits(1);
    await permits.acquire();
    const order: string[] = [];
    const first = permits.acquire().then((held) => order.push(`first:${held}`));
    const second = permits.acquire().then((held) => order.push(`second:${held}`));
    permits.release();
    await first;
    expect(order).toEqual(['first:true']);
    expect(permits.free).toBe(0);
    permits.release();
    await second;
    expect(order).toEqual(['first:true', 'second:true']);
  });

  it('gives up after the wait, and a permit freed later is not lost', async () => {
    const permits = new AttemptPermits(1);
    await permits.acquire();
    const started = Date.now();
    expect(await permits.acquire(30)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    permits.release();
    expect(permits.free).toBe(1);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new AttemptPermits(0)).toThrow(RangeError);
  });
});
