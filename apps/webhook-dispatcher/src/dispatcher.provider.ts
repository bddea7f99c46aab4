import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { WebhookDispatcherEnv } from '@wagw/config';
import { WebhookEndpointsRepository } from '@wagw/db';
import { DeliveryAttemptsRepository, EventFanOutRepository } from '@wagw/db/system';
import { Counter, Histogram, LATENCY_BUCKETS, type Logger, type Registry } from '@wagw/observability';
import { REDIS, type RedisConnection } from '@wagw/queue';
import { WebhookDispatcher, type DispatcherObserver } from '@wagw/webhook-delivery';
import { parseSecretKey } from '@wagw/webhooks';

export const DISPATCHER_ENV = Symbol('DISPATCHER_ENV');
export const DISPATCHER_LOGGER = Symbol('DISPATCHER_LOGGER');
export const DISPATCHER_METRICS = Symbol('DISPATCHER_METRICS');

/** Delivers webhooks for as long as the app lives; on shutdown, attempts in flight finish first. */
@Injectable()
export class DispatcherService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly dispatcher: WebhookDispatcher;

  constructor(
    @Inject(DISPATCHER_ENV) env: WebhookDispatcherEnv,
    @Inject(DISPATCHER_LOGGER) logger: Logger,
    @Inject(REDIS) redis: RedisConnection,
    events: EventFanOutRepository,
    deliveries: DeliveryAttemptsRepository,
    endpoints: WebhookEndpointsRepository,
    @Inject(DISPATCHER_METRICS) metrics: Registry,
  ) {
    if (env.WEBHOOK_ALLOW_PRIVATE_HOSTS.length > 0) {
      logger.warn({ hosts: env.WEBHOOK_ALLOW_PRIVATE_HOSTS }, 'webhooks may be delivered to these private hosts (WEBHOOK_ALLOW_PRIVATE_HOSTS): for development and tests only');
    }
    const attempts = new Counter({ name: 'wagw_webhook_attempts_total', help: 'Webhook delivery attempts by recorded outcome and attempt number', labelNames: ['outcome', 'attempt'], registers: [metrics] });
    const attemptLatency = new Histogram({ name: 'wagw_webhook_attempt_duration_seconds', help: 'Webhook delivery attempts, request to answer', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers: [metrics] });
    const publishLag = new Histogram({ name: 'wagw_webhook_publish_lag_seconds', help: 'From an event committed to its deliveries created', buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300], registers: [metrics] });
    const relayed = new Counter({ name: 'wagw_webhook_relayed_total', help: 'Attempts the relay re-published because their job was lost', labelNames: ['kind'], registers: [metrics] });
    const observer: DispatcherObserver = {
      attempt: (outcome, attempt, latencyMs) => {
        attempts.inc({ outcome, attempt: String(attempt) });
        attemptLatency.observe({ outcome }, latencyMs / 1000);
      },
      fannedOut: (lagSeconds) => publishLag.observe(lagSeconds),
      relayed: (kind, count) => relayed.inc({ kind }, count),
    };
    this.dispatcher = new WebhookDispatcher(
      { redisUrl: env.REDIS_URL, redis, events, deliveries, endpoints, secretKey: parseSecretKey(env.WEBHOOK_SECRET_KEY), logger, observer },
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
