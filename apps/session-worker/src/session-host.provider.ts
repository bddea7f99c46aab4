import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import type { SessionWorkerEnv } from '@wagw/config';
import { commandQueueName, type EventType } from '@wagw/contracts';
import { AuthStateRepository, MediaCacheRepository, MessagesRepository, OutboxRepository, SessionsRepository } from '@wagw/db';
import { DatabaseProbe, SessionPlacementRepository } from '@wagw/db/system';
import { Counter, Gauge, type Logger, type Registry } from '@wagw/observability';
import { REDIS, WebhookQueues, type RedisConnection } from '@wagw/queue';
import { SessionHost } from '@wagw/session-runtime';
import { whatsAppEndpointLabel, whatsAppEndpointOptions } from '@wagw/wa-emulator/trust';

export const WORKER_ENV = Symbol('WORKER_ENV');
export const WORKER_LOGGER = Symbol('WORKER_LOGGER');
export const WORKER_METRICS = Symbol('WORKER_METRICS');

/** Runs this worker's sessions for as long as the app lives. */
@Injectable()
export class SessionHostService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly host: SessionHost;
  private readonly webhookQueues: WebhookQueues;
  private readonly databaseProbe: DatabaseProbe;
  /** Read-only view of this worker's command queue, for its depth. */
  private readonly commandQueue: Queue;

  constructor(
    @Inject(WORKER_ENV) env: SessionWorkerEnv,
    @Inject(WORKER_LOGGER) logger: Logger,
    @Inject(REDIS) redis: RedisConnection,
    sessions: SessionsRepository,
    messages: MessagesRepository,
    authState: AuthStateRepository,
    outbox: OutboxRepository,
    placement: SessionPlacementRepository,
    mediaCache: MediaCacheRepository,
    @Inject(WORKER_METRICS) metrics: Registry,
  ) {
    const endpointSettings = { websocketUrl: env.WA_WEBSOCKET_URL, trustRootKeyHex: env.WA_TRUST_ROOT_KEY, mediaCaPem: env.WA_MEDIA_CA };
    const socketOptions = whatsAppEndpointOptions(endpointSettings, (message) => logger.warn(message));
    if (env.MEDIA_URL_ALLOW_PRIVATE_HOSTS.length > 0) {
      logger.warn({ hosts: env.MEDIA_URL_ALLOW_PRIVATE_HOSTS }, 'media URLs may name these private hosts (MEDIA_URL_ALLOW_PRIVATE_HOSTS): for development and tests only');
    }
    this.webhookQueues = new WebhookQueues(redis);
    const publishEvent = async (eventId: string, type: EventType): Promise<void> => {
      if (env.FAULT_INJECTION === 'exit-after-revoke-commit' && type === 'message.revoked') {
        // Tests only (refused outside NODE_ENV=test): dies like a crash between commit and enqueue.
        logger.warn({ eventId }, 'fault injection: exiting after a revoke event commit, before publishing it');
        process.exit(137);
      }
      await this.webhookQueues.announceEvents();
    };
    const workerId = env.WORKER_ID ?? `${hostname()}-${process.pid}`;
    const leaseTransitions = new Counter({ name: 'wagw_lease_transitions_total', help: 'Session leases this worker acquired, lost or released', labelNames: ['transition'], registers: [metrics] });
    this.databaseProbe = new DatabaseProbe(env.DATABASE_URL);
    this.host = new SessionHost({
      publishEvent,
      databaseReachable: (timeoutMs) => this.databaseProbe.reachable(timeoutMs),
      onLeaseTransition: (transition) => leaseTransitions.inc({ transition }),
      workerId,
      redisUrl: env.REDIS_URL,
      redis,
      sessions,
      messages,
      authState,
      outbox,
      placement,
      logger,
      socketOptions,
      media: { cache: mediaCache, urlPolicy: { allow: env.MEDIA_URL_ALLOW_PRIVATE_HOSTS }, maxBytes: env.MEDIA_MAX_BYTES, cacheBudgetBytes: env.MEDIA_CACHE_MAX_BYTES, timeoutMs: env.MEDIA_DOWNLOAD_TIMEOUT_MS },
      endpoint: whatsAppEndpointLabel(endpointSettings),
      leaseTtlMs: env.SESSION_LEASE_TTL_MS,
    });
    this.commandQueue = new Queue(commandQueueName(workerId), { connection: redis });
    const host = this.host;
    const commandQueue = this.commandQueue;
    new Gauge({
      name: 'wagw_sessions',
      help: "This worker's sessions by status",
      labelNames: ['status'],
      registers: [metrics],
      collect() {
        this.reset();
        for (const [status, count] of host.sessionsByStatus()) this.set({ status }, count);
      },
    });
    new Gauge({
      name: 'wagw_command_queue_depth',
      help: "Commands in this worker's queue by state",
      labelNames: ['worker', 'state'],
      registers: [metrics],
      async collect() {
        const counts = await commandQueue.getJobCounts('waiting', 'active', 'delayed');
        for (const [state, count] of Object.entries(counts)) this.set({ worker: workerId, state }, count);
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.host.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.host.stop();
    await this.databaseProbe.close();
    await this.webhookQueues.close();
    await this.commandQueue.close();
  }
}
