import { describe, expect, it } from 'vitest';
import { renewAll } from './session-host.js';

describe('renewAll', () => {
  it('issues every renewal before any answers, and tells held from lost from unanswered', async () => {
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
    const outcomes = await renewing;
    expect(outcomes.size).toBe(300);
    expect([...outcomes].filter(([, outcome]) => outcome !== 'held').map(([holder, outcome]) => [holder.sessionId, outcome])).toEqual([
      ['s7', 'unknown'],
      ['s42', 'lost'],
    ]);
  });
});
