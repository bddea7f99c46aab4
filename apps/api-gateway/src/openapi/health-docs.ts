import { ApiOperation, ApiResponse, ApiTags, type SchemaObject } from '@nestjs/swagger';
import { HealthController } from '@wagw/http';

const ERROR_ENVELOPE_ID = 'ErrorEnvelope';

const okSchema: SchemaObject = { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] };
const readySchema: SchemaObject = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ready'] }, checks: { type: 'object', additionalProperties: { type: 'string', enum: ['ok'] } } },
  required: ['status', 'checks'],
};

let documented = false;

type MethodDecorator = (target: object, key: string | symbol, descriptor: PropertyDescriptor) => unknown;

/** Applies `decorators` to a method of HealthController as if written above it, the last one first. */
function decorate(method: keyof HealthController, ...decorators: MethodDecorator[]): void {
  const prototype: object = HealthController.prototype;
  const descriptor = Object.getOwnPropertyDescriptor(prototype, method);
  if (!descriptor) throw new Error(`HealthController has no method ${method}`);
  for (const decorator of decorators.reverse()) decorator(prototype, method, descriptor);
}

/**
 * Describes the health routes in the gateway's OpenAPI document. HealthController lives in
 * `@wagw/http`, which every app loads, without swagger's decorators: @nestjs/swagger costs about
 * 20 MiB resident in a process, and only the gateway serves the document. Idempotent.
 */
export function documentHealthRoutes(): void {
  if (documented) return;
  documented = true;
  ApiTags('Health')(HealthController);
  decorate('liveness',
    ApiOperation({ summary: 'Liveness', description: 'The process answers. No authentication.' }),
    ApiResponse({ status: 200, description: 'Alive.', content: { 'application/json': { schema: okSchema } } }));
  decorate('readiness',
    ApiOperation({ summary: 'Readiness', description: 'Postgres and Redis both answer. No authentication.' }),
    ApiResponse({ status: 200, description: 'Ready.', content: { 'application/json': { schema: readySchema } } }),
    ApiResponse({ status: 503, description: '`session_unavailable`: a dependency does not answer; `details.checks` says which.', content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_ENVELOPE_ID}` } } } }));
}
