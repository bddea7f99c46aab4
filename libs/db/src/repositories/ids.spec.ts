import { describe, expect, it } from 'vitest';
import { uuidV7 } from './ids.js';

describe('uuidV7', () => {
  it('is a version 7, RFC 9562 variant UUID carrying its millisecond timestamp', () => {
    const at = Date.UTC(2026, 10, 21, 12, 0, 0, 123);
    const id = uuidV7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('orders by time: a later millisecond sorts after, as id cursors assume', () => {
    const ids = Array.from({ length: 50 }, (_, index) => uuidV7(1_700_000_000_000 + index));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1_000 }, () => uuidV7(1_700_000_000_000))).size).toBe(1_000);
  });
});
