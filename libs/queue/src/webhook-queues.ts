import { Queue } from 'bullmq';
import { deliveryJobId, EVENTS_COMMITTED_CHANNEL, WEBHOOK_DELIVERIES_QUEUE, type DeliveryJobData } from '@wagw/contracts';
import type { RedisConnection } from './redis-connection.js';

/**
 * Finished jobs are removed: the record of a delivery lives in Postgres, and a removed job id can be
 * added again by the relay or the sweeper when a process died between a commit and an enqueue.
 */
const JOB_DEFAULTS = { removeOnComplete: true, removeOnFail: true, attempts: 8, backoff: { type: 'exponential', delay: 500 } } as const;

/**
 * The producer side of the webhook pipeline: session workers and gateways announce committed events,
 * the gateway and dispatcher schedule attempts.
 */
export class WebhookQueues {
  readonly deliveries: Queue<DeliveryJobData>;

  constructor(private readonly connection: RedisConnection) {
    this.deliveries = new Queue<DeliveryJobData>(WEBHOOK_DELIVERIES_QUEUE, { connection, defaultJobOptions: JOB_DEFAULTS });
  }

  /**
   * Wakes the dispatchers after a commit of domain events: one Redis command, where a queued job per
   * event cost about thirty. The events themselves are read from Postgres, so announcing twice, or not
   * at all, changes only how soon they go out (see WebhookDispatcher).
   */
  async announceEvents(): Promise<void> {
    await this.connection.publish(EVENTS_COMMITTED_CHANNEL, '');
  }

  /** Schedules attempt number `attempt` (0-based) of a delivery, at `at` or now. */
  async scheduleDelivery(deliveryId: string, attempt: number, at?: Date): Promise<void> {
    const delay = at === undefined ? 0 : Math.max(0, at.getTime() - Date.now());
    await this.deliveries.add('attempt', { deliveryId, attempt }, { jobId: deliveryJobId(deliveryId, attempt), delay });
  }

  /** Schedules the first attempt of each of an event's new deliveries, in one round trip to Redis. */
  async scheduleFirstAttempts(deliveryIds: readonly string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.deliveries.addBulk(deliveryIds.map((deliveryId) => ({ name: 'attempt', data: { deliveryId, attempt: 0 }, opts: { jobId: deliveryJobId(deliveryId, 0) } })));
  }

  async close(): Promise<void> {
    await this.deliveries.close();
  }
}
