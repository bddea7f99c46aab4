import { describe, expect, it } from 'vitest';
import { renewAll } from './session-host.js';

describe('renewAll', () => {
  it('issues every renewal before any answers, and returns the holders whose lease is gone', async () => {
    const holders = Array.from({ length: 300 }, (_, index) => ({ sessionId: `s${index}` }));
    let inFlight = 0;
    let maxInFlight = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const renewing = renewAll(holders, async (holder) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Every renewal waits for the same answer: renewed one after another, only one would be in flight.
      await gate;
      inFlight -= 1;
      if (holder.sessionId === 's7') throw new Error('redis unreachable');
      return holder.sessionId !== 's42';
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(maxInFlight).toBe(300);
    release();
    expect((await renewing).map((holder) => holder.sessionId)).toEqual(['s7', 's42']);
  });
});
