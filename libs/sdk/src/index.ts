export * from './client.js';
export * from './event-stream.js';
