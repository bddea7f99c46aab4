import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { NestPinoLogger, type Logger } from '@wagw/observability';
import { ErrorEnvelopeFilter } from './error-envelope.filter.js';

export interface HttpAppOptions {
  logger: Logger;
  bodyLimitBytes?: number;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

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
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new NestPinoLogger(options.logger),
    bufferLogs: false,
  });
  app.useGlobalFilters(new ErrorEnvelopeFilter(options.logger));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  return app;
}
