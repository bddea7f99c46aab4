export * from './test-jwks.js';
export * from './tenants.js';
export * from './processes.js';
export * from './isolated-stores.js';
export * from './webhook-sink.js';
export * from './concurrency.js';
export * from './tcp-fault-proxy.js';
export * from './event-stream-client.js';
