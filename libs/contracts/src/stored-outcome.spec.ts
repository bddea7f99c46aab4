import { describe, expect, it } from 'vitest';
import { storedOperationError, storedSendResult } from './http-api.js';

describe('stored outcomes, read with one schema', () => {
  it('reads a stored error as the worker wrote it, and anything else as internal', () => {
    expect(storedOperationError({ code: 'not_found', message: 'gone', details: { mid: 'x' } })).toEqual({ code: 'not_found', message: 'gone', details: { mid: 'x' } });
    expect(storedOperationError({ code: 'no_such_code', message: 'x', details: {} })).toEqual({ code: 'internal', message: 'the operation failed', details: {} });
    expect(storedOperationError(null)).toMatchObject({ code: 'internal' });
  });

  it('refuses a stored result that is not a SendResult rather than passing it on', () => {
    const result = { mode: 'sync', outboxId: '01936f5e-7c1a-7d2b-9a41-3c5d2e8f0a11', replayed: false, status: 'sent', timestamp: 1, waMessageId: '3EB0' };
    expect(storedSendResult(result)).toEqual(result);
    expect(() => storedSendResult({ ...result, status: 'maybe' })).toThrow();
  });
});
