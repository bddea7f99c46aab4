export * from './lease-manager.js';
export * from './session-runner.js';
export * from './command-executor.js';
export * from './session-host.js';
