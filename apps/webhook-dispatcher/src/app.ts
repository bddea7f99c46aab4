import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { WebhookDispatcherEnv } from '@wagw/config';
import { createHttpApp } from '@wagw/http';
import type { Logger } from '@wagw/observability';
import { WebhookDispatcherModule } from './app.module.js';

export function createWebhookDispatcher(env: WebhookDispatcherEnv, logger: Logger): Promise<NestFastifyApplication> {
  return createHttpApp(WebhookDispatcherModule.forRoot(env, logger), { logger });
}
