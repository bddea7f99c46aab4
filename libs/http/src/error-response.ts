import { HttpException } from '@nestjs/common';
import { ERROR_STATUS, GatewayError, isErrorCode, type ErrorCode, type ErrorEnvelope } from '@wagw/contracts';
import { isRedisCommandTimeout } from '@wagw/queue';

const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'session_unavailable',
  504: 'timeout',
};

export interface ErrorResponse {
  status: number;
  envelope: ErrorEnvelope;
  /** Present for 5xx: the id a person quotes to find the log line. */
  errorId?: string;
}

interface FrameworkError {
  statusCode: number;
  message: string;
  code?: string;
}

/** Errors Fastify raises itself (body too large, bad JSON, wrong content type) carry `statusCode`. */
function isFrameworkError(error: unknown): error is FrameworkError {
  if (!(error instanceof Error)) return false;
  const statusCode: unknown = (error as Error & { statusCode?: unknown }).statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}

function fromCode(code: ErrorCode, message: string, details: Record<string, unknown> = {}): ErrorResponse {
  return { status: ERROR_STATUS[code], envelope: { error: { code, message, details } } };
}

/**
 * The one mapping from anything thrown to the `{error:{code,message,details}}` envelope. Unknown errors
 * become a 500 `internal` with a fresh `errorId`; their message is never shown to the client.
 */
export function toErrorResponse(exception: unknown, newErrorId: () => string): ErrorResponse {
  if (exception instanceof GatewayError) {
    return { status: exception.status, envelope: exception.toEnvelope() };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = CODE_BY_STATUS[status];
    if (code) {
      const message = status === 404 ? messageOf(exception).replace(/^Cannot (\w+) (.*)$/, 'no route $1 $2') : messageOf(exception);
      return fromCode(code, message);
    }
  }
  if (isFrameworkError(exception)) {
    const code = (exception.code !== undefined && isErrorCode(exception.code) ? exception.code : undefined) ?? CODE_BY_STATUS[exception.statusCode] ?? 'validation_failed';
    // Fastify's message for an over-long path segment quotes the whole path back.
    const message = exception.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is too long' : exception.message.replace(/^FST_\w+: /, '');
    return fromCode(code, message, exception.code ? { reason: exception.code } : {});
  }
  // A Redis command this request needed got no answer in time: not the caller's fault, nor an unknown
  // failure, but a 503 to retry (with the default Retry-After).
  if (isRedisCommandTimeout(exception)) return fromCode('service_unavailable', 'a store the gateway needs does not answer; retry shortly');
  const errorId = newErrorId();
  return { ...fromCode('internal', 'internal error', { errorId }), errorId };
}
