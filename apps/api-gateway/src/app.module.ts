import { Module, type DynamicModule } from '@nestjs/common';
import { AuthModule, authOptionsFromEnv } from '@wagw/auth';
import type { ApiGatewayEnv } from '@wagw/config';
import { DbModule } from '@wagw/db';
import type { Logger, Registry } from '@wagw/observability';
import { HealthModule } from '@wagw/http';
import { RedisModule, REQUEST_REDIS_COMMAND_TIMEOUT_MS } from '@wagw/queue';
import { SessionsController } from './sessions/sessions.controller.js';
import { MessagesController } from './messages/messages.controller.js';
import { OperationsController } from './messages/operations.controller.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { OrgController } from './org/org.controller.js';
import { EventsController } from './events/events.controller.js';
import { gatewayProviders } from './gateway.providers.js';

@Module({})
export class ApiGatewayModule {
  static forRoot(env: ApiGatewayEnv, logger: Logger, metrics: Registry): DynamicModule {
    return {
      module: ApiGatewayModule,
      imports: [
        // Generic plans, as in the worker: the hot statements (session and message lookups by key, the
        // outbox insert and its foreign-key checks) were planned again on every call.
        DbModule.forRoot({ databaseUrl: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, idleTimeoutMs: env.DATABASE_POOL_IDLE_MS, genericPlans: true }),
        RedisModule.forRoot({
          url: env.REDIS_URL,
          connectionName: 'api-gateway',
          onError: (error) => logger.warn({ err: error }, 'redis connection error'),
          // Requests wait on this connection: a stalled Redis fails them, it does not hold them.
          commandTimeoutMs: REQUEST_REDIS_COMMAND_TIMEOUT_MS,
        }),
        AuthModule.forRoot(authOptionsFromEnv(env)),
        HealthModule,
      ],
      controllers: [SessionsController, MessagesController, OperationsController, WebhooksController, OrgController, EventsController],
      providers: gatewayProviders(env, metrics, logger),
    };
  }
}
