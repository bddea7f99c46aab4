import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { SessionWorkerEnv } from '@wagw/config';
import { createHttpApp } from '@wagw/http';
import { createMetricsRegistry, type Logger } from '@wagw/observability';
import { SessionWorkerModule } from './app.module.js';

export function createSessionWorker(env: SessionWorkerEnv, logger: Logger): Promise<NestFastifyApplication> {
  const metrics = createMetricsRegistry('session-worker');
  return createHttpApp(SessionWorkerModule.forRoot(env, logger, metrics), { logger, metrics });
}
