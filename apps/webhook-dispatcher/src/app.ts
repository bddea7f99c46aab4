import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { WebhookDispatcherEnv } from '@wagw/config';
import { createHttpApp } from '@wagw/http';
import { createMetricsRegistry, type Logger } from '@wagw/observability';
import { WebhookDispatcherModule } from './app.module.js';

export function createWebhookDispatcher(env: WebhookDispatcherEnv, logger: Logger): Promise<NestFastifyApplication> {
  const metrics = createMetricsRegistry('webhook-dispatcher');
  return createHttpApp(WebhookDispatcherModule.forRoot(env, logger, metrics), { logger, metrics });
}
