import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { httpRequestDuration, NestPinoLogger, type Logger, type Registry } from '@wagw/observability';
import { GatewayError } from '@wagw/contracts';
import { answerClientError } from './client-error.js';
import { ErrorEnvelopeFilter, sendError } from './error-envelope.filter.js';

export interface HttpAppOptions {
  logger: Logger;
  bodyLimitBytes?: number;
  /** Browser origins allowed by CORS; none (the default) sends no CORS headers. */
  corsOrigins?: readonly string[];
  /** Path prefixes of the browsable API reference: its page needs its own scripts and styles. */
  documentationPaths?: readonly string[];
  /** Served at GET /metrics (Prometheus text), with every request's duration observed into it. */
  metrics?: Registry;
  /** Where the web dashboard is served (its own CSP and caching); the API's headers are unchanged. */
  dashboardPath?: string;
  /** Runs first for every request, before its body is read or checked (the API authenticates here). */
  beforeBody?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

export const METRICS_PATH = '/metrics';

/** An API answers JSON to programs: nothing to frame, sniff, cache or refer. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cache-control': 'no-store',
} as const;

/** The API reference page loads its scripts and styles from this server, and nothing from elsewhere. */
const DOCUMENTATION_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/**
 * The dashboard: its own scripts and styles as files (no inline code of any kind), images from itself or
 * data: URLs (the QR code), and calls to this origin only.
 */
const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** A dashboard file's caching: the page itself is checked on every load, its content-hashed assets never change. */
function dashboardCacheControl(url: string, dashboardPath: string): string {
  return url.startsWith(`${dashboardPath}/assets/`) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** While closing, a connection that has carried no request is kept this long for one on its way. */
const UNUSED_CONNECTION_GRACE_MS = 1_000;

/**
 * A Nest application on Fastify with the envelope filter installed at both levels: Nest's (routes,
 * guards, pipes) and Fastify's own (body parsing, size limit, content type), which Nest never sees.
 */
export async function createHttpApp(module: Type | DynamicModule, options: HttpAppOptions): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Fastify's own 503 while closing is not our envelope; the `preClose` hook below answers instead.
    return503OnClosing: false,
    // Message ids run to 128 characters; longer path segments are answered 400 in the envelope.
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => sendError(options.logger, error, request, reply),
    clientErrorHandler: answerClientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new NestPinoLogger(options.logger),
    bufferLogs: false,
    // Nest would add a form-urlencoded parser; this API speaks JSON only, with Fastify's own parser.
    bodyParser: false,
  });
  app.useGlobalFilters(new ErrorEnvelopeFilter(options.logger));
  const fastify = app.getHttpAdapter().getInstance();
  // Connections that never carried a request (clients open spares: undici does after an aborted
  // stream). Node's idle sweep passes them over, so a closing server would wait on them until their
  // timeouts.
  const unused = new Set<Socket>();
  fastify.server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  // While closing (SIGTERM), requests still arriving on open connections get a 503 in the envelope,
  // with Retry-After and the connection closed: a load balancer sends the retry elsewhere.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    // Connections that go idle while the server drains (a keep-alive connection after its response, one
    // a client opened but has not used for a second, time for a request on its way to be answered 503)
    // are closed as they do, not left to hold the shutdown until their timeouts; requests in flight finish.
    const sweepStarted = Date.now();
    const closeIdle = (): void => {
      fastify.server.closeIdleConnections();
      if (Date.now() - sweepStarted >= UNUSED_CONNECTION_GRACE_MS) for (const socket of unused) socket.destroy();
    };
    closeIdle();
    const sweep = setInterval(closeIdle, 250);
    sweep.unref();
    fastify.server.once('close', () => clearInterval(sweep));
    done();
  });
  fastify.addHook('onRequest', async (request, reply) => {
    unused.delete(request.raw.socket);
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new GatewayError('service_unavailable', 'this instance is shutting down; retry', { retryAfterSeconds: 1 });
  });
  if (options.beforeBody) fastify.addHook('onRequest', options.beforeBody);
  // Anything but JSON is answered 415 before a handler sees it.
  fastify.removeContentTypeParser('text/plain');
  // JSON bodies are read as UTF-8 whatever the label says: a body declared in another charset would be
  // misread, so it is refused rather than guessed at.
  fastify.addHook('onRequest', async (request) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
      throw new GatewayError('unsupported_media_type', `bodies must be UTF-8, not ${charset}`, { charset });
    }
  });
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    void reply.headers(SECURITY_HEADERS);
    if (options.documentationPaths?.some((path) => request.url === path || request.url.startsWith(`${path}/`))) {
      void reply.header('content-security-policy', DOCUMENTATION_CSP);
    }
    const dashboard = options.dashboardPath;
    if (dashboard !== undefined && (request.url === dashboard || request.url.startsWith(`${dashboard}/`))) {
      void reply.header('content-security-policy', DASHBOARD_CSP);
      void reply.header('cache-control', dashboardCacheControl(request.url, dashboard));
    }
  });
  if (options.metrics) {
    const registry = options.metrics;
    const duration = httpRequestDuration(registry);
    fastify.addHook('onResponse', async (request, reply) => {
      // The route template, never the raw URL: ids in paths would make one series per resource.
      const route = request.routeOptions.url ?? 'unmatched';
      if (route === METRICS_PATH) return;
      duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    fastify.get(METRICS_PATH, async (_request, reply) => {
      void reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  }
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...options.corsOrigins],
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'prefer', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'preference-applied'],
      maxAge: 600,
    });
  }
  return app;
}
