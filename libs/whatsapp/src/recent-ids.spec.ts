import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.js';

describe('RecentIds', () => {
  it('remembers what was added, up to its capacity, forgetting the oldest first', () => {
    const recent = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) recent.add(id);
    expect(['a', 'b', 'c', 'd'].map((id) => recent.has(id))).toEqual([false, true, true, true]);
  });

  it('counts a repeated id as new: it is kept over older ones', () => {
    const recent = new RecentIds(2);
    recent.add('a');
    recent.add('b');
    recent.add('a');
    recent.add('c');
    expect([recent.has('a'), recent.has('b'), recent.has('c')]).toEqual([true, false, true]);
  });

  it('stays within its capacity however much is added', () => {
    const absent = new RecentIds(10);
    for (let index = 0; index < 25; index += 1) absent.add(`tctoken/contact-${index}`);
    expect(absent.size).toBeLessThanOrEqual(10);
    expect(absent.has('tctoken/contact-24')).toBe(true);
    expect(absent.has('tctoken/contact-0')).toBe(false);
  });
});
