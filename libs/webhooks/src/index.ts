export * from './standard-webhooks.js';
export * from './ssrf-guard.js';
