import { describe, expect, it } from 'vitest';
import { limitLiteral } from './pagination.js';

describe('limitLiteral', () => {
  it('writes a positive integer into the statement text, binding nothing', () => {
    const sql = limitLiteral(200);
    expect(sql.sql).toBe('200');
    expect(sql.values).toEqual([]);
  });

  it('refuses anything but a positive safe integer, so nothing else reaches the SQL text', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) expect(() => limitLiteral(bad)).toThrow(RangeError);
  });
});
