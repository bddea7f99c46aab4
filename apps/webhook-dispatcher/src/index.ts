export { createWebhookDispatcher } from './app.js';
