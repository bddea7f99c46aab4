import { Job, Queue, QueueEvents } from 'bullmq';
import {
  commandQueueName,
  decodeLease,
  GatewayError,
  redisKeys,
  type CommandJob,
  type CommandOutcome,
  type SessionCommand,
} from '@wagw/contracts';
import { closeRedisConnection, createRedisConnection, type RedisConnection } from '@wagw/queue';

interface WorkerChannel {
  queue: Queue;
  events: QueueEvents;
}

export interface DispatchRequest {
  outboxId: string;
  orgId: string;
  sessionId: string;
  command: SessionCommand;
}

/** The wait ended without an answer; the operation may still finish, readable by its outbox id. */
export class DispatchTimeoutError extends Error {
  constructor(readonly outboxId: string) {
    super(`no answer from the session worker in time (operation ${outboxId})`);
  }
}

/**
 * Routes a command to the worker holding the session's lease, through that worker's BullMQ queue, and
 * waits for its reply (QueueEvents `waitUntilFinished`). A `session_moved` answer is re-routed once;
 * when the wait runs out, the job's final state is read before giving up, so no reply is lost.
 */
export class CommandDispatcher {
  private readonly channels = new Map<string, WorkerChannel>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly redisUrl: string,
  ) {}

  private channel(workerId: string): WorkerChannel {
    let channel = this.channels.get(workerId);
    if (!channel) {
      const name = commandQueueName(workerId);
      channel = {
        queue: new Queue(name, { connection: createRedisConnection(this.redisUrl, `dispatch-${name}`) }),
        events: new QueueEvents(name, { connection: createRedisConnection(this.redisUrl, `events-${name}`) }),
      };
      channel.events.setMaxListeners(0);
      this.channels.set(workerId, channel);
    }
    return channel;
  }

  async dispatch(request: DispatchRequest, timeoutMs: number): Promise<CommandOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt += 1) {
      const lease = decodeLease(await this.redis.get(redisKeys.lease(request.sessionId)));
      if (!lease) throw new GatewayError('session_unavailable', 'no worker holds this session right now; retry shortly', { sessionId: request.sessionId });
      const { queue, events } = this.channel(lease.workerId);
      const data: CommandJob = { ...request, epoch: lease.epoch, deadline };
      const job = await queue.add(request.command.type, data, {
        jobId: `${request.outboxId}-${lease.epoch}-${attempt}`,
        attempts: 1,
        removeOnComplete: { age: 3_600, count: 10_000 },
        removeOnFail: { age: 86_400 },
      });
      let outcome: CommandOutcome;
      try {
        outcome = (await job.waitUntilFinished(events, Math.max(1, deadline - Date.now()))) as CommandOutcome;
      } catch (error) {
        // The event may have been missed: the job's state is the truth.
        const finished = await Job.fromId(queue, job.id ?? '');
        if (finished && (await finished.isCompleted())) outcome = finished.returnvalue as CommandOutcome;
        else if (Date.now() >= deadline) throw new DispatchTimeoutError(request.outboxId);
        else throw error;
      }
      if (!outcome.ok && outcome.error.code === 'session_moved' && attempt === 0) continue;
      return outcome;
    }
  }

  async close(): Promise<void> {
    for (const { queue, events } of this.channels.values()) {
      const connections = [queue.opts.connection, events.opts.connection] as unknown as RedisConnection[];
      await events.close();
      await queue.close();
      for (const connection of connections) await closeRedisConnection(connection).catch(() => undefined);
    }
    this.channels.clear();
  }
}
