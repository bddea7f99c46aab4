export * from './wa-emulator.js';
export * from './accounts.js';
export * from './memory-auth-state.js';
export * from './binary-node.js';
export * from './trust.js';
export * from './control-api.js';
export * from './delivery-report.js';
