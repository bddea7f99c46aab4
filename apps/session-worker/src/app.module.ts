import { Module, type DynamicModule } from '@nestjs/common';
import type { SessionWorkerEnv } from '@wagw/config';
import { DbModule } from '@wagw/db';
import type { Logger } from '@wagw/observability';
import { HealthModule } from '@wagw/http';
import { RedisModule } from '@wagw/queue';
import { SessionHostService, WORKER_ENV, WORKER_LOGGER } from './session-host.provider.js';

/** Hosts WhatsApp sessions; serves only health (and later metrics) on an internal port. */
@Module({})
export class SessionWorkerModule {
  static forRoot(env: SessionWorkerEnv, logger: Logger): DynamicModule {
    return {
      module: SessionWorkerModule,
      imports: [
        DbModule.forRoot({ databaseUrl: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE }),
        RedisModule.forRoot({ url: env.REDIS_URL, connectionName: 'session-worker', onError: (error) => logger.warn({ err: error }, 'redis connection error') }),
        HealthModule,
      ],
      providers: [{ provide: WORKER_ENV, useValue: env }, { provide: WORKER_LOGGER, useValue: logger }, SessionHostService],
    };
  }
}
