import { BadRequestException, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '@wagw/contracts';
import { toErrorResponse } from './error-response.js';

const errorId = () => 'err-1';

describe('toErrorResponse', () => {
  it('keeps a GatewayError as it is', () => {
    expect(toErrorResponse(new GatewayError('session_not_connected', 'session is stopped', { session: 's1' }), errorId)).toEqual({
      status: 409,
      envelope: { error: { code: 'session_not_connected', message: 'session is stopped', details: { session: 's1' } } },
    });
  });

  it("maps Nest's own exceptions by status", () => {
    expect(toErrorResponse(new NotFoundException('Cannot GET /x'), errorId).envelope.error).toEqual({ code: 'not_found', message: 'no route GET /x', details: {} });
    expect(toErrorResponse(new BadRequestException(['a', 'b']), errorId).envelope.error.code).toBe('validation_failed');
    expect(toErrorResponse(new PayloadTooLargeException(), errorId).status).toBe(413);
  });

  it("maps Fastify's own errors by statusCode", () => {
    const tooLarge = Object.assign(new Error('FST_ERR_CTP_BODY_TOO_LARGE: Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(toErrorResponse(tooLarge, errorId)).toEqual({
      status: 413,
      envelope: { error: { code: 'payload_too_large', message: 'Request body is too large', details: { reason: 'FST_ERR_CTP_BODY_TOO_LARGE' } } },
    });
  });

  it('hides anything else behind a 500 with an errorId', () => {
    const response = toErrorResponse(new Error('connection string postgres://u:secret@db leaked'), errorId);
    expect(response).toEqual({ status: 500, errorId: 'err-1', envelope: { error: { code: 'internal', message: 'internal error', details: { errorId: 'err-1' } } } });
    expect(JSON.stringify(response.envelope)).not.toContain('secret');
  });
});
