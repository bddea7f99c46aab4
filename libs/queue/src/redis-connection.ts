import { Redis } from 'ioredis';

export type RedisConnection = Redis;

/**
 * BullMQ needs `maxRetriesPerRequest: null` on connections that block; using it everywhere keeps one
 * factory for all of them.
 */
export function createRedisConnection(url: string, connectionName: string): RedisConnection {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName, lazyConnect: false });
}
