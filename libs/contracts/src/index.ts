export * from './errors.js';
export * from './capabilities.js';
export * from './sessions.js';
export * from './commands.js';
export * from './webhooks.js';
export * from './http-api.js';
export * from './webhook-envelope.js';
