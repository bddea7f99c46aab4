export * from './webhook-endpoints.service.js';
