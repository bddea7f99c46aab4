export { createApiGateway } from './app.js';
