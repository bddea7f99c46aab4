export * from './event-stream-hub.js';
export * from './sse-frames.js';
