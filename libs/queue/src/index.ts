export * from './redis-connection.js';
export * from './redis.module.js';
