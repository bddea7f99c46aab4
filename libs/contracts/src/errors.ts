/**
 * The one list of error codes the gateway and its workers answer with, and the HTTP status each maps to.
 * Clients switch on `code`, so never rename one; add new codes instead.
 */
export const ERROR_STATUS = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  validation_failed: 400,
  /** The request is not valid HTTP (refused by the HTTP parser before any route). */
  bad_request: 400,
  request_timeout: 408,
  headers_too_large: 431,
  conflict: 409,
  session_not_connected: 409,
  idempotency_key_reused: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  rate_limited: 429,
  session_unavailable: 503,
  /** The operator has not configured what this request needs (e.g. WEBHOOK_SECRET_KEY for webhooks). */
  not_configured: 503,
  /** A store the gateway needs (Redis, Postgres) does not answer, or this instance is shutting down. */
  service_unavailable: 503,
  session_moved: 409,
  timeout: 504,
  /** WhatsApp answered the message with an error ack (e.g. 463): it was not delivered. */
  whatsapp_rejected: 502,
  /** WhatsApp's media host no longer has an attachment, or what it served failed its hash or MAC check. */
  media_unavailable: 502,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type ErrorDetails = Record<string, unknown>;

/** The body of every non-2xx answer: `{"error": {"code", "message", "details"}}`. */
export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    message: string;
    details: ErrorDetails;
  };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/**
 * The error type every layer throws. The HTTP filter turns it into the envelope; a session worker
 * returns it as the job's outcome (`{ok: false, error}`, the job itself succeeds) and the gateway
 * rethrows the same code.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toEnvelope(): ErrorEnvelope {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}
