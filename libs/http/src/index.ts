export * from './error-response.js';
export * from './error-envelope.filter.js';
export * from './zod-validation.pipe.js';
export * from './public.decorator.js';
export * from './health.module.js';
export * from './health.controller.js';
export * from './create-http-app.js';
export * from './run-until-signal.js';
