export * from './postgres-auth-state.js';
export * from './whatsapp-connection.js';
export * from './message-mapping.js';
export * from './webhook-mapping.js';
export * from './recent-ids.js';
export * from './inbound.js';
export * from './jids.js';
export * from './media-download.js';
