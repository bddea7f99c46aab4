export * from './retry-policy.js';
export * from './http-delivery.js';
export * from './endpoint-slots.js';
export * from './webhook-dispatcher.js';
export * from './attempt-permits.js';
