import { Module, type DynamicModule } from '@nestjs/common';
import type { WebhookDispatcherEnv } from '@wagw/config';
import { DbModule } from '@wagw/db';
import { systemRepositoryProviders } from '@wagw/db/system';
import type { Logger, Registry } from '@wagw/observability';
import { HealthModule } from '@wagw/http';
import { RedisModule } from '@wagw/queue';
import { DISPATCHER_ENV, DISPATCHER_LOGGER, DISPATCHER_METRICS, DispatcherService } from './dispatcher.provider.js';

/** Delivers webhooks; serves only health and metrics on an internal port. */
@Module({})
export class WebhookDispatcherModule {
  static forRoot(env: WebhookDispatcherEnv, logger: Logger, metrics: Registry): DynamicModule {
    return {
      module: WebhookDispatcherModule,
      imports: [
        DbModule.forRoot({ databaseUrl: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, idleTimeoutMs: env.DATABASE_POOL_IDLE_MS, genericPlans: true }),
        RedisModule.forRoot({ url: env.REDIS_URL, connectionName: 'webhook-dispatcher', onError: (error) => logger.warn({ err: error }, 'redis connection error') }),
        HealthModule,
      ],
      providers: [...systemRepositoryProviders(), { provide: DISPATCHER_ENV, useValue: env }, { provide: DISPATCHER_LOGGER, useValue: logger }, { provide: DISPATCHER_METRICS, useValue: metrics }, DispatcherService],
    };
  }
}
