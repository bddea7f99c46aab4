export * from './free-port.js';
export * from './embedded-postgres.js';
export * from './redis-server.js';
export * from './supervisor.js';
export * from './chromium.js';
