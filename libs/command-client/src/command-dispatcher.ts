import { randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import {
  commandQueueName,
  decodeLease,
  GatewayError,
  redisKeys,
  type CommandJob,
  type CommandOutcome,
  type CommandReply,
  type SessionCommand,
} from '@wagw/contracts';
import { closeRedisConnection, createRedisConnection, isRedisCommandTimeout, REQUEST_REDIS_COMMAND_TIMEOUT_MS, type RedisConnection } from '@wagw/queue';


export interface DispatchRequest {
  /** See `CommandJob.commandId`: the outbox operation's id for a send or revoke. */
  commandId: string;
  orgId: string;
  sessionId: string;
  command: SessionCommand;
  /** Who asked (see `CommandJob.actor`). */
  actor?: { kind: 'user' | 'api_key'; id: string };
}

/** The wait ended without an answer; the command may still run (a send or revoke: readable by its outbox id). */
export class DispatchTimeoutError extends Error {
  constructor(readonly commandId: string) {
    super(`no answer from the session worker in time (command ${commandId})`);
  }
}

/**
 * Routes a command to the worker holding the session's lease, through that worker's BullMQ queue, and
 * waits for the worker to push the outcome to this gateway's own reply list (measured faster than
 * QueueEvents `waitUntilFinished`: see bench/results/request-reply.json). A `session_moved` answer is
 * re-routed once; when the wait runs out, the job's final state is read before giving up, so no reply
 * is lost. The consumer is the worker's command Worker in libs/session-runtime/src/session-host.ts, which
 * hands each job to command-executor.ts there.
 */
export class CommandDispatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly waiting = new Map<string, (outcome: CommandOutcome) => void>();
  private readonly replyList = redisKeys.replies(randomUUID());
  private readonly replyReader: RedisConnection;
  private reading = true;
  private readonly readerLoop: Promise<void>;

  constructor(
    private readonly redis: RedisConnection,
    private readonly redisUrl: string,
  ) {
    this.replyReader = createRedisConnection(redisUrl, 'gateway-replies');
    this.readerLoop = this.readReplies();
  }

  private async readReplies(): Promise<void> {
    while (this.reading) {
      const popped = await this.replyReader.brpop(this.replyList, 1).catch(() => null);
      if (!popped) continue;
      const reply = JSON.parse(popped[1]) as CommandReply;
      this.waiting.get(reply.jobId)?.(reply.outcome);
    }
  }

  private queue(workerId: string): Queue {
    let queue = this.queues.get(workerId);
    if (!queue) {
      const name = commandQueueName(workerId);
      // Requests wait on this connection too: a stalled Redis fails `add`, it does not hold the caller.
      queue = new Queue(name, { connection: createRedisConnection(this.redisUrl, `dispatch-${name}`, undefined, { commandTimeoutMs: REQUEST_REDIS_COMMAND_TIMEOUT_MS }) });
      // Every concurrent `add` waits on the queue's readiness: dozens in flight are normal here.
      queue.setMaxListeners(0);
      this.queues.set(workerId, queue);
    }
    return queue;
  }

  private waitForReply(jobId: string, timeoutMs: number): Promise<CommandOutcome | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(jobId);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(jobId, (outcome) => {
        clearTimeout(timer);
        this.waiting.delete(jobId);
        resolve(outcome);
      });
    });
  }

  /**
   * The worker holding the session's lease. Nothing is queued yet, so a Redis that does not answer
   * is a 503 to retry, like a session no worker holds.
   */
  private async leaseOf(sessionId: string): Promise<NonNullable<ReturnType<typeof decodeLease>>> {
    let raw: string | null;
    try {
      raw = await this.redis.get(redisKeys.lease(sessionId));
    } catch (error) {
      if (!isRedisCommandTimeout(error)) throw error;
      throw new GatewayError('session_unavailable', 'the command queue (Redis) does not answer; retry shortly', { sessionId });
    }
    const lease = decodeLease(raw);
    if (!lease) throw new GatewayError('session_unavailable', 'no worker holds this session right now; retry shortly', { sessionId });
    return lease;
  }

  /** Hands the command to the session's worker without waiting (`Prefer: respond-async`). */
  async enqueue(request: DispatchRequest, deadlineMs: number): Promise<void> {
    const lease = await this.leaseOf(request.sessionId);
    const data: CommandJob = { ...request, epoch: lease.epoch, deadline: Date.now() + deadlineMs };
    await this.queue(lease.workerId).add(request.command.type, data, {
      jobId: `${request.commandId}-${lease.epoch}-async`,
      attempts: 1,
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 86_400 },
    });
  }

  async dispatch(request: DispatchRequest, timeoutMs: number): Promise<CommandOutcome> {
    const deadline = Date.now() + timeoutMs;
    // Each dispatch gets job ids of its own. A retry of an operation (after a 504) is a new dispatch of
    // the same outbox id at the same epoch: with a shared id BullMQ would ignore its job (the earlier one
    // is kept for an hour) and this would read back the earlier job's outcome. Running an operation
    // twice is safe: the worker answers a finished one from the outbox and re-sends under the same id.
    const dispatchId = randomUUID().slice(0, 8);
    for (let attempt = 0; ; attempt += 1) {
      const lease = await this.leaseOf(request.sessionId);
      const queue = this.queue(lease.workerId);
      const jobId = `${request.commandId}-${lease.epoch}-${dispatchId}-${attempt}`;
      const data: CommandJob = { ...request, epoch: lease.epoch, deadline, replyTo: this.replyList };
      // Listen before adding: a fast worker may answer before `add` returns.
      const reply = this.waitForReply(jobId, Math.max(1, deadline - Date.now()));
      try {
        await queue.add(request.command.type, data, { jobId, attempts: 1, removeOnComplete: { age: 3_600, count: 10_000 }, removeOnFail: { age: 86_400 } });
      } catch (error) {
        // Redis may have taken the job before it stopped answering: the outcome is unknown, not failed.
        if (isRedisCommandTimeout(error)) throw new DispatchTimeoutError(request.commandId);
        throw error;
      }
      let outcome = await reply;
      if (outcome === null) {
        // The reply may have been lost (a Redis failover, this process restarting): the job's state is the truth.
        const finished = await Job.fromId(queue, jobId).catch((error: unknown) => {
          if (isRedisCommandTimeout(error)) return undefined;
          throw error;
        });
        if (finished && (await finished.isCompleted().catch(() => false))) outcome = finished.returnvalue as CommandOutcome;
        else throw new DispatchTimeoutError(request.commandId);
      }
      if (!outcome.ok && outcome.error.code === 'session_moved' && attempt === 0) continue;
      return outcome;
    }
  }

  async close(): Promise<void> {
    this.reading = false;
    await this.readerLoop;
    await closeRedisConnection(this.replyReader);
    for (const queue of this.queues.values()) {
      const connection = queue.opts.connection as unknown as RedisConnection;
      await queue.close();
      await closeRedisConnection(connection).catch(() => undefined);
    }
    this.queues.clear();
  }
}
