import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@wagw/contracts';

/** Node's parser errors we name apart; every other one is a request that is not valid HTTP. */
const CLIENT_ERRORS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'the request headers are too large' },
};
const NOT_HTTP = { status: 400, code: 'bad_request', message: 'the request is not valid HTTP/1.1' } as const;

/**
 * Fastify's `clientErrorHandler`: the answer to a request Node's HTTP parser refused (Content-Length with
 * chunked encoding, a raw byte outside ASCII in the path, a broken header line) before any route or
 * hook ran. It is the same envelope as every other error; the connection is closed after it, as the
 * parser cannot tell where the next request would start.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message } = CLIENT_ERRORS[error.code ?? ''] ?? NOT_HTTP;
  const body = JSON.stringify({ error: { code, message, details: {} } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'x-content-type-options: nosniff\r\ncache-control: no-store\r\nconnection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}
