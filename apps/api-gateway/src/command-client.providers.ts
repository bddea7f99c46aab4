import { Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { CommandDispatcher, SessionCommandsService, SessionLifecycleService } from '@wagw/command-client';
import type { ApiGatewayEnv } from '@wagw/config';
import { Histogram, LATENCY_BUCKETS, type Registry } from '@wagw/observability';
import { AuditLogRepository, AuthStateRepository, MessagesRepository, OutboxRepository, SessionsRepository } from '@wagw/db';
import { REDIS, WebhookQueues, type RedisConnection } from '@wagw/queue';

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

export function commandClientProviders(env: ApiGatewayEnv, metrics: Registry): Provider[] {
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
      useFactory: (sessions: SessionsRepository, messages: MessagesRepository, outbox: OutboxRepository, audit: AuditLogRepository, dispatcher: CommandDispatcher, redis: RedisConnection) =>
        new SessionCommandsService(sessions, messages, outbox, audit, dispatcher, redis, env.COMMAND_TIMEOUT_MS, (kind, outcome, seconds) => commandDuration.observe({ kind, outcome }, seconds)),
      inject: [SessionsRepository, MessagesRepository, OutboxRepository, AuditLogRepository, CommandDispatcher, REDIS],
    },
    { provide: WebhookQueues, useFactory: (redis: RedisConnection) => new WebhookQueues(redis), inject: [REDIS] },
    {
      provide: SessionLifecycleService,
      useFactory: (sessions: SessionsRepository, authState: AuthStateRepository, commands: SessionCommandsService, queues: WebhookQueues, redis: RedisConnection) => new SessionLifecycleService(sessions, authState, commands, queues, redis),
      inject: [SessionsRepository, AuthStateRepository, SessionCommandsService, WebhookQueues, REDIS],
    },
    QueuesShutdown,
  ];
}
