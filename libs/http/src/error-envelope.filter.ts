import { randomUUID } from 'node:crypto';
import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@wagw/observability';
import { toErrorResponse } from './error-response.js';

/** Every non-2xx answer of every app goes through here, Nest's own 404s and validation errors included. */
@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    sendError(this.logger, exception, request, reply);
  }
}

const DEFAULT_RETRY_AFTER_SECONDS = 2;

export function sendError(logger: Logger, exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, envelope, errorId } = toErrorResponse(exception, randomUUID);
  if (errorId !== undefined) {
    // The request's own logger carries its id and, once authenticated, its organization.
    const log = (request.log as Logger | undefined) ?? logger;
    log.error({ err: exception, errorId, reqId: request.id, method: request.method, url: request.url }, 'unhandled error');
  }
  if (status === 429 || status === 503) {
    // Every 429 and 503 says when to come back: a 503 without its own `retryAfterSeconds` says soon.
    const retryAfter = envelope.error.details['retryAfterSeconds'];
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    else if (status === 503) void reply.header('retry-after', String(DEFAULT_RETRY_AFTER_SECONDS));
  }
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(envelope);
}
