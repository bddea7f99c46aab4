// The worker side of the request-reply benchmark, in its own process as a session worker would be.
// argv: <mechanism: bullmq-events|bullmq-reply-list|raw-list> <redisUrl> <name>
import { Worker } from 'bullmq';
import { createRedisConnection } from '@wagw/queue';

const [mechanism, redisUrl = '', name = 'bench'] = process.argv.slice(2);

async function main(): Promise<void> {
  if (mechanism === 'raw-list') {
    const redis = createRedisConnection(redisUrl, 'bench-raw-consumer');
    const replies = createRedisConnection(redisUrl, 'bench-raw-replies');
    process.send?.('ready');
    for (;;) {
      const popped = await redis.brpop(`${name}:requests`, 0);
      if (!popped) continue;
      const request = JSON.parse(popped[1]) as { id: string; replyTo: string };
      void replies.lpush(request.replyTo, JSON.stringify({ id: request.id, ok: true }));
    }
  }
  const replies = createRedisConnection(redisUrl, 'bench-reply-writer');
  const worker = new Worker(
    name,
    async (job) => {
      const data = job.data as { replyTo?: string };
      const result = { ok: true };
      if (mechanism === 'bullmq-reply-list' && data.replyTo) await replies.lpush(data.replyTo, JSON.stringify({ id: job.id, ...result }));
      return result;
    },
    { connection: createRedisConnection(redisUrl, 'bench-worker'), concurrency: 64 },
  );
  await worker.waitUntilReady();
  process.send?.('ready');
}

void main();
