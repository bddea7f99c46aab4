export * from './test-jwks.js';
export * from './tenants.js';
export * from './processes.js';
