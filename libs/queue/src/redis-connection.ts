import { Redis } from 'ioredis';

export type RedisConnection = Redis;

/** Reconnect errors repeat every retry; one line per this many milliseconds is enough. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * How long a request waits for one Redis command before it gives up on it: with the command timeout,
 * the margin by which an answer may exceed COMMAND_TIMEOUT_MS whatever Redis does.
 */
export const REQUEST_REDIS_COMMAND_TIMEOUT_MS = 1_000;

/** ioredis's error for a command that got no reply within `commandTimeoutMs`. */
export const REDIS_COMMAND_TIMED_OUT = 'Command timed out';

export function isRedisCommandTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === REDIS_COMMAND_TIMED_OUT;
}

export interface RedisConnectionOptions {
  /**
   * A command without a reply in this time fails (`Command timed out`) instead of waiting for a Redis
   * that stalled or is reconnecting: for the connections a request waits on. Never on a connection
   * that blocks (BRPOP, BullMQ workers).
   */
  commandTimeoutMs?: number;
}

/**
 * BullMQ needs `maxRetriesPerRequest: null` on connections that block; using it everywhere keeps one
 * factory for all of them. ioredis reconnects by itself; `onError` hears about it (throttled).
 */
export function createRedisConnection(url: string, connectionName: string, onError: (error: Error) => void = () => undefined, options: RedisConnectionOptions = {}): RedisConnection {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
  });
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
