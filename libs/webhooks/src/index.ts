export * from './standard-webhooks.js';
export * from './ssrf-guard.js';
export * from './secret-box.js';
export * from './guarded-fetch.js';
