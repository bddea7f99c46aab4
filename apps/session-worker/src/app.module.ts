import { Module, type DynamicModule } from '@nestjs/common';
import type { SessionWorkerEnv } from '@wagw/config';
import { DbModule } from '@wagw/db';
import { systemRepositoryProviders } from '@wagw/db/system';
import type { Logger, Registry } from '@wagw/observability';
import { HealthModule } from '@wagw/http';
import { RedisModule } from '@wagw/queue';
import { SessionHostService, WORKER_ENV, WORKER_LOGGER, WORKER_METRICS } from './session-host.provider.js';

/** Hosts WhatsApp sessions; serves only health and metrics on an internal port. */
@Module({})
export class SessionWorkerModule {
  static forRoot(env: SessionWorkerEnv, logger: Logger, metrics: Registry): DynamicModule {
    return {
      module: SessionWorkerModule,
      imports: [
        DbModule.forRoot({ databaseUrl: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, idleTimeoutMs: env.DATABASE_POOL_IDLE_MS, genericPlans: true }),
        RedisModule.forRoot({ url: env.REDIS_URL, connectionName: 'session-worker', onError: (error) => logger.warn({ err: error }, 'redis connection error') }),
        HealthModule,
      ],
      providers: [...systemRepositoryProviders(), { provide: WORKER_ENV, useValue: env }, { provide: WORKER_LOGGER, useValue: logger }, { provide: WORKER_METRICS, useValue: metrics }, SessionHostService],
    };
  }
}
