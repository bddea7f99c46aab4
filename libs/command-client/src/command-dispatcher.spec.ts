import { randomUUID } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandQueueName, encodeLease, redisKeys, type CommandJob, type CommandOutcome, type CommandReply } from '@wagw/contracts';
import { closeRedisConnection, createRedisConnection, type RedisConnection } from '@wagw/queue';
import { createIsolatedRedisUrl } from '@wagw/testing';
import { CommandDispatcher } from './command-dispatcher.js';

/**
 * The gateway's side of a command, against real Redis and BullMQ. The session workers are stand-ins that
 * answer the way the real worker does (outcome pushed to the gateway's reply list): here one of them has
 * just lost the session to another.
 */
describe('CommandDispatcher: a command that finds its session moved', () => {
  let redisUrl: string;
  let redis: RedisConnection;
  let dispatcher: CommandDispatcher;
  const workers: Worker[] = [];
  const connections: RedisConnection[] = [];

  beforeAll(async () => {
    redisUrl = await createIsolatedRedisUrl();
    redis = createRedisConnection(redisUrl, 'dispatcher-test');
    dispatcher = new CommandDispatcher(redis, redisUrl);
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await dispatcher.close();
    for (const connection of [redis, ...connections]) await closeRedisConnection(connection);
  });

  const sent: CommandOutcome = { ok: true, result: { mode: 'sync', outboxId: 'o', replayed: false, status: 'sent', timestamp: 1, waMessageId: '3EB0AAAA' } };
  const moved: CommandOutcome = { ok: false, error: { code: 'session_moved', message: 'the session is held by another worker now', details: {} } };

  /** A worker consuming its own command queue; `answer` decides the outcome of each job it receives. */
  function standInWorker(workerId: string, answer: (job: CommandJob) => Promise<CommandOutcome>): CommandJob[] {
    const received: CommandJob[] = [];
    const connection = createRedisConnection(redisUrl, `stand-in-${workerId}`);
    connections.push(connection);
    workers.push(
      new Worker(
        commandQueueName(workerId),
        async (job: Job<CommandJob>) => {
          received.push(job.data);
          const outcome = await answer(job.data);
          const reply: CommandReply = { jobId: job.id ?? '', outcome };
          if (job.data.replyTo) await connection.lpush(job.data.replyTo, JSON.stringify(reply));
          return outcome;
        },
        { connection: createRedisConnection(redisUrl, `stand-in-queue-${workerId}`) },
      ),
    );
    return received;
  }

  const request = (sessionId: string) => ({ commandId: randomUUID(), orgId: randomUUID(), sessionId, command: { type: 'revoke' as const, chat: '15550001111@s.whatsapp.net', messageId: '3EB0BBBB' } });

  it('re-routes once to the new owner, with the new epoch, and returns its answer', async () => {
    const sessionId = randomUUID();
    const [oldOwner, newOwner] = [`old-${sessionId.slice(0, 8)}`, `new-${sessionId.slice(0, 8)}`];
    await redis.set(redisKeys.lease(sessionId), encodeLease({ workerId: oldOwner, epoch: 1 }));
    // The old owner lost the lease just as the command arrived: the lease now names the new owner.
    const atOld = standInWorker(oldOwner, async () => {
      await redis.set(redisKeys.lease(sessionId), encodeLease({ workerId: newOwner, epoch: 2 }));
      return moved;
    });
    const atNew = standInWorker(newOwner, async () => sent);

    const outcome = await dispatcher.dispatch(request(sessionId), 10_000);
    expect(outcome).toEqual(sent);
    expect(atOld.map((job) => job.epoch)).toEqual([1]);
    expect(atNew.map((job) => job.epoch)).toEqual([2]);
  });

  it('re-routes only once: a second session_moved is the answer', async () => {
    const sessionId = randomUUID();
    const [first, second] = [`first-${sessionId.slice(0, 8)}`, `second-${sessionId.slice(0, 8)}`];
    await redis.set(redisKeys.lease(sessionId), encodeLease({ workerId: first, epoch: 5 }));
    const atFirst = standInWorker(first, async () => {
      await redis.set(redisKeys.lease(sessionId), encodeLease({ workerId: second, epoch: 6 }));
      return moved;
    });
    const atSecond = standInWorker(second, async () => {
      await redis.set(redisKeys.lease(sessionId), encodeLease({ workerId: first, epoch: 7 }));
      return moved;
    });

    const outcome = await dispatcher.dispatch(request(sessionId), 10_000);
    expect(outcome).toEqual(moved);
    expect(atFirst).toHaveLength(1);
    expect(atSecond).toHaveLength(1);
  });
});
