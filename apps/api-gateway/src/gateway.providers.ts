import { Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { ApiKeyAuthenticator, ApiKeysService } from '@wagw/auth';
import { CommandDispatcher, MediaDownloadsService, SessionCommandsService, SessionLifecycleService } from '@wagw/command-client';
import type { ApiGatewayEnv } from '@wagw/config';
import { Histogram, LATENCY_BUCKETS, type Registry } from '@wagw/observability';
import {
  ApiKeysRepository,
  AuditLogRepository,
  AuthStateRepository,
  DomainEventsRepository,
  EventStreamRepository,
  MediaCacheRepository,
  MessagesRepository,
  OutboxRepository,
  SessionsRepository,
  WebhookDeliveriesRepository,
  WebhookEndpointsRepository,
} from '@wagw/db';
import { REDIS, WebhookQueues, type RedisConnection } from '@wagw/queue';
import { WebhookEndpointsService } from '@wagw/webhook-endpoints';
import { EventStreamHub } from '@wagw/event-stream';
import type { Logger } from '@wagw/observability';
import { parseSecretKey } from '@wagw/webhooks';

export const GATEWAY_ENV = Symbol('GATEWAY_ENV');

@Injectable()
class QueuesShutdown implements OnApplicationShutdown {
  constructor(
    private readonly dispatcher: CommandDispatcher,
    private readonly webhookQueues: WebhookQueues,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close();
    await this.webhookQueues.close();
  }
}

export function gatewayProviders(env: ApiGatewayEnv, metrics: Registry, logger: Logger): Provider[] {
  const commandDuration = new Histogram({
    name: 'wagw_command_duration_seconds',
    help: 'Sends and revokes through the gateway, end to end, by kind and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [metrics],
  });
  return [
    { provide: GATEWAY_ENV, useValue: env },
    { provide: CommandDispatcher, useFactory: (redis: RedisConnection) => new CommandDispatcher(redis, env.REDIS_URL), inject: [REDIS] },
    {
      provide: SessionCommandsService,
      useFactory: (sessions: SessionsRepository, messages: MessagesRepository, outbox: OutboxRepository, dispatcher: CommandDispatcher, redis: RedisConnection) =>
        new SessionCommandsService(sessions, messages, outbox, dispatcher, redis, env.COMMAND_TIMEOUT_MS, (kind, outcome, seconds) => commandDuration.observe({ kind, outcome }, seconds)),
      inject: [SessionsRepository, MessagesRepository, OutboxRepository, CommandDispatcher, REDIS],
    },
    {
      provide: MediaDownloadsService,
      useFactory: (commands: SessionCommandsService, messages: MessagesRepository, cache: MediaCacheRepository) => new MediaDownloadsService(commands, messages, cache),
      inject: [SessionCommandsService, MessagesRepository, MediaCacheRepository],
    },
    { provide: WebhookQueues, useFactory: (redis: RedisConnection) => new WebhookQueues(redis), inject: [REDIS] },
    {
      provide: SessionLifecycleService,
      useFactory: (sessions: SessionsRepository, authState: AuthStateRepository, audit: AuditLogRepository, commands: SessionCommandsService, queues: WebhookQueues, redis: RedisConnection) =>
        new SessionLifecycleService(sessions, authState, audit, commands, queues, redis),
      inject: [SessionsRepository, AuthStateRepository, AuditLogRepository, SessionCommandsService, WebhookQueues, REDIS],
    },
    {
      provide: WebhookEndpointsService,
      useFactory: (endpoints: WebhookEndpointsRepository, deliveries: WebhookDeliveriesRepository, events: DomainEventsRepository, audit: AuditLogRepository, queues: WebhookQueues) =>
        new WebhookEndpointsService(endpoints, deliveries, events, audit, queues, {
          secretKey: env.WEBHOOK_SECRET_KEY === undefined ? null : parseSecretKey(env.WEBHOOK_SECRET_KEY),
          rotationGraceMs: env.WEBHOOK_SECRET_ROTATION_GRACE_MS,
        }),
      inject: [WebhookEndpointsRepository, WebhookDeliveriesRepository, DomainEventsRepository, AuditLogRepository, WebhookQueues],
    },
    {
      provide: ApiKeysService,
      useFactory: (apiKeys: ApiKeysRepository, authenticator: ApiKeyAuthenticator) => new ApiKeysService(apiKeys, (prefix) => authenticator.forget(prefix)),
      inject: [ApiKeysRepository, ApiKeyAuthenticator],
    },
    { provide: EventStreamHub, useFactory: (events: EventStreamRepository) => new EventStreamHub(events, logger), inject: [EventStreamRepository] },
    QueuesShutdown,
  ];
}
