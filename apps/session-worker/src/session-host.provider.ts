import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import type { SessionWorkerEnv } from '@wagw/config';
import type { EventType } from '@wagw/contracts';
import { AuthStateRepository, MessagesRepository, OutboxRepository, SessionsRepository } from '@wagw/db';
import type { Logger } from '@wagw/observability';
import { REDIS, WebhookQueues, type RedisConnection } from '@wagw/queue';
import { SessionHost } from '@wagw/session-runtime';
import { whatsAppEndpointOptions } from '@wagw/wa-emulator';

export const WORKER_ENV = Symbol('WORKER_ENV');
export const WORKER_LOGGER = Symbol('WORKER_LOGGER');

/** Runs this worker's sessions for as long as the app lives. */
@Injectable()
export class SessionHostService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly host: SessionHost;
  private readonly webhookQueues: WebhookQueues;

  constructor(
    @Inject(WORKER_ENV) env: SessionWorkerEnv,
    @Inject(WORKER_LOGGER) logger: Logger,
    @Inject(REDIS) redis: RedisConnection,
    sessions: SessionsRepository,
    messages: MessagesRepository,
    authState: AuthStateRepository,
    outbox: OutboxRepository,
  ) {
    const socketOptions = whatsAppEndpointOptions(
      { websocketUrl: env.WA_WEBSOCKET_URL, trustRootKeyHex: env.WA_TRUST_ROOT_KEY },
      (message) => logger.warn(message),
    );
    this.webhookQueues = new WebhookQueues(redis);
    const publishEvent = async (eventId: string, type: EventType): Promise<void> => {
      if (env.FAULT_INJECTION === 'exit-after-revoke-commit' && type === 'message.revoked') {
        // Tests only (refused outside NODE_ENV=test): dies like a crash between commit and enqueue.
        logger.warn({ eventId }, 'fault injection: exiting after a revoke event commit, before publishing it');
        process.exit(137);
      }
      await this.webhookQueues.publishEvent(eventId);
    };
    this.host = new SessionHost({
      publishEvent,
      workerId: env.WORKER_ID ?? `${hostname()}-${process.pid}`,
      redisUrl: env.REDIS_URL,
      redis,
      sessions,
      messages,
      authState,
      outbox,
      logger,
      socketOptions,
      leaseTtlMs: env.SESSION_LEASE_TTL_MS,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.host.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.host.stop();
    await this.webhookQueues.close();
  }
}
