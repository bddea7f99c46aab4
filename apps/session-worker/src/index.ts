export { createSessionWorker } from './app.js';
