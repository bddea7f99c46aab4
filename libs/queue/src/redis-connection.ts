import { Redis } from 'ioredis';

export type RedisConnection = Redis;

/** Reconnect errors repeat every retry; one line per this many milliseconds is enough. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * BullMQ needs `maxRetriesPerRequest: null` on connections that block; using it everywhere keeps one
 * factory for all of them. ioredis reconnects by itself; `onError` hears about it (throttled).
 */
export function createRedisConnection(url: string, connectionName: string, onError: (error: Error) => void = () => undefined): RedisConnection {
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName });
  let lastLoggedAt = 0;
  redis.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLoggedAt < ERROR_LOG_INTERVAL_MS) return;
    lastLoggedAt = now;
    onError(error);
  });
  return redis;
}

/** `quit` waits for the server, which never answers when it is down; then just drop the socket. */
export async function closeRedisConnection(redis: RedisConnection): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]).catch(() => undefined);
  redis.disconnect();
}
