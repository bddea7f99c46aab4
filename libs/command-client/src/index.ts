export * from './command-dispatcher.js';
export * from './session-commands.service.js';
export * from './session-lifecycle.service.js';
export * from './media-downloads.service.js';
