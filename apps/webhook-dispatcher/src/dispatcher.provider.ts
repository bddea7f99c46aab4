import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { WebhookDispatcherEnv } from '@wagw/config';
import { DomainEventsRepository, WebhookDeliveriesRepository, WebhookEndpointsRepository } from '@wagw/db';
import type { Logger } from '@wagw/observability';
import { REDIS, type RedisConnection } from '@wagw/queue';
import { WebhookDispatcher } from '@wagw/webhook-delivery';
import { parseSecretKey } from '@wagw/webhooks';

export const DISPATCHER_ENV = Symbol('DISPATCHER_ENV');
export const DISPATCHER_LOGGER = Symbol('DISPATCHER_LOGGER');

/** Delivers webhooks for as long as the app lives; on shutdown, attempts in flight finish first. */
@Injectable()
export class DispatcherService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly dispatcher: WebhookDispatcher;

  constructor(
    @Inject(DISPATCHER_ENV) env: WebhookDispatcherEnv,
    @Inject(DISPATCHER_LOGGER) logger: Logger,
    @Inject(REDIS) redis: RedisConnection,
    events: DomainEventsRepository,
    deliveries: WebhookDeliveriesRepository,
    endpoints: WebhookEndpointsRepository,
  ) {
    if (env.WEBHOOK_ALLOW_PRIVATE_HOSTS.length > 0) {
      logger.warn({ hosts: env.WEBHOOK_ALLOW_PRIVATE_HOSTS }, 'webhooks may be delivered to these private hosts (WEBHOOK_ALLOW_PRIVATE_HOSTS): for development and tests only');
    }
    this.dispatcher = new WebhookDispatcher(
      { redisUrl: env.REDIS_URL, redis, events, deliveries, endpoints, secretKey: parseSecretKey(env.WEBHOOK_SECRET_KEY), logger },
      {
        retryScheduleMs: env.WEBHOOK_RETRY_SCHEDULE_MS,
        retryJitter: env.WEBHOOK_RETRY_JITTER,
        timeoutMs: env.WEBHOOK_TIMEOUT_MS,
        endpointConcurrency: env.WEBHOOK_ENDPOINT_CONCURRENCY,
        concurrency: env.WEBHOOK_CONCURRENCY,
        disableAfterMs: env.WEBHOOK_DISABLE_AFTER_MS,
        relayDelayMs: env.WEBHOOK_RELAY_DELAY_MS,
        destinationPolicy: { allow: env.WEBHOOK_ALLOW_PRIVATE_HOSTS },
      },
    );
  }

  onApplicationBootstrap(): void {
    this.dispatcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher.stop();
  }
}
