import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';

describe('Batcher', () => {
  it('writes what arrives together in one batch, and what arrives during a write in the next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number, string>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return items.map((item) => `ok ${item}`);
    });
    const first = [1, 2, 3].map((item) => batcher.add(item));
    await new Promise((resolve) => setImmediate(resolve));
    const later = [4, 5].map((item) => batcher.add(item));
    release();
    expect(await Promise.all([...first, ...later])).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('keeps batches within their maximum size', async () => {
    const sizes: number[] = [];
    const batcher = new Batcher<number, number>((items) => {
      sizes.push(items.length);
      return Promise.resolve(items);
    }, 4);
    await Promise.all(Array.from({ length: 10 }, (_, index) => batcher.add(index)));
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('fails every write of a failed batch, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new Batcher<number, number>((items) => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('database down')) : Promise.resolve(items);
    });
    const failed = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(failed.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await batcher.add(3)).toBe(3);
    await batcher.idle();
  });
});
