export * from './redis-connection.js';
export * from './redis.module.js';
export * from './webhook-queues.js';
