import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { z } from 'zod';
import { apiSchemas, ERROR_STATUS, errorEnvelopeSchema, type ErrorCode } from '@wagw/contracts';
import { REQUIRED_CAPABILITY } from '@wagw/auth';

/** Request bodies and query strings are documented as clients write them (before defaults and coercion). */
export const apiRequestSchemas = z.registry<{ id: string; description?: string; examples?: unknown[] }>();

export const API_KEY_SCHEME = 'apiKey';
export const LOGIN_JWT_SCHEME = 'loginJwt';

type JsonSchema = Record<string, unknown>;

function componentRef(schema: z.ZodType): { $ref: string } {
  const meta = apiSchemas.get(schema) ?? apiRequestSchemas.get(schema);
  if (!meta) throw new Error('only schemas registered in apiSchemas or apiRequestSchemas can be referenced from the OpenAPI document');
  return { $ref: `#/components/schemas/${meta.id}` };
}

/** A single value's JSON Schema (a path or query parameter), inline. */
function inlineSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** What every authenticated route can answer besides its own outcomes. */
const AUTHENTICATED_ERRORS: readonly ErrorCode[] = ['unauthorized', 'forbidden', 'rate_limited'];

const ERROR_DESCRIPTIONS: Partial<Record<ErrorCode, string>> = {
  unauthorized: '`unauthorized`: no token, or an invalid, expired or revoked one.',
  forbidden: '`forbidden`: the caller lacks the capability this route needs.',
  not_found: '`not_found`: it does not exist, or belongs to another organization.',
  validation_failed: '`validation_failed`: a field is invalid; `details.fields` names each one.',
  conflict: '`conflict`: the current state does not allow it.',
  session_not_connected: '`session_not_connected`: the session is not connected.',
  idempotency_key_reused: '`idempotency_key_reused`: this Idempotency-Key was used for a different request.',
  payload_too_large: '`payload_too_large`: the body exceeds the configured limit.',
  unsupported_media_type: '`unsupported_media_type`: send `application/json`.',
  rate_limited: '`rate_limited`: too many requests; wait `Retry-After` seconds.',
  session_unavailable: '`session_unavailable`: no worker can take the command right now (or the command queue does not answer); retry after `Retry-After` seconds.',
  timeout: '`timeout`: no answer in time; the outcome is readable by `details.outboxId`.',
  not_configured: '`not_configured`: webhooks are off on this gateway (its operator has not set `WEBHOOK_SECRET_KEY`).',
};

/** Error responses, grouped by status: several codes can share one (409). */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, string[]>();
  for (const code of new Set([...codes, ...AUTHENTICATED_ERRORS])) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), ERROR_DESCRIPTIONS[code] ?? `\`${code}\``]);
  }
  return applyDecorators(
    ...[...byStatus.entries()].map(([status, descriptions]) =>
      ApiResponse({
        status,
        description: descriptions.join(' '),
        content: { 'application/json': { schema: componentRef(errorEnvelopeSchema) } },
        ...(status === 429 ? { headers: { 'Retry-After': { description: 'Seconds until the window resets.', schema: { type: 'integer' } } } } : {}),
        ...(status === 503 ? { headers: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } } } : {}),
      }),
    ),
  );
}

/** Both bearer schemes: either a login JWT or an API key is accepted. */
export function ApiAuthenticated(): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiSecurity(API_KEY_SCHEME), ApiSecurity(LOGIN_JWT_SCHEME));
}

/**
 * Describes a route, naming the capability it requires as `@RequireCapability` declares it: write
 * `@ApiRoute` above `@RequireCapability` (decorators apply bottom-up, so the capability is set when
 * this one runs). Authorization itself is never applied here.
 */
export function ApiRoute(options: { summary: string; description?: string }): MethodDecorator {
  return (target, key, descriptor) => {
    const capability: unknown = Reflect.getMetadata(REQUIRED_CAPABILITY, descriptor.value as object);
    const requirement = typeof capability === 'string' ? `Requires the **\`${capability}\`** capability.` : '';
    // The revoke's reference description names the capability itself.
    const named = typeof capability === 'string' && options.description?.includes(`\`${capability}\``) === true;
    const description = [options.description, named ? '' : requirement].filter((part) => part !== undefined && part !== '').join('\n\n');
    ApiOperation({ summary: options.summary, ...(description === '' ? {} : { description }) })(target, key, descriptor);
  };
}

export function ApiJsonBody(schema: z.ZodType, options: { required?: boolean; description?: string; example?: unknown } = {}): MethodDecorator {
  return ApiBody({
    schema: componentRef(schema),
    required: options.required ?? true,
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.example === undefined ? {} : { examples: { example: { value: options.example } } }),
  });
}

export function ApiJsonResponse(status: number, schema: z.ZodType, description: string): MethodDecorator {
  return ApiResponse({ status, description, content: { 'application/json': { schema: componentRef(schema) } } });
}

export function ApiNoContent(description: string): MethodDecorator {
  return ApiResponse({ status: 204, description });
}

export function ApiPathParam(name: string, schema: z.ZodType, description: string): MethodDecorator {
  return ApiParam({ name, required: true, description, schema: inlineSchema(schema) });
}

/** One query parameter per field of a strict object schema. */
export function ApiQueryFrom(schema: z.ZodObject): MethodDecorator {
  const shape = schema.shape as Record<string, z.ZodType>;
  return applyDecorators(
    ...Object.entries(shape).map(([name, field]) => {
      const { description, ...fieldSchema } = inlineSchema(field);
      return ApiQuery({ name, required: !field.safeParse(undefined).success, schema: fieldSchema, ...(typeof description === 'string' ? { description } : {}) });
    }),
  );
}

/** Sends and revokes: a retry with the same key returns the first outcome instead of acting twice. */
export function ApiIdempotencyKey(): MethodDecorator {
  return ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Up to 255 printable ASCII characters, scoped to your organization and kept 24 h. A retry with the same key and body returns the first outcome (`replayed: true`); with a different body, 422.',
    schema: { type: 'string', maxLength: 255 },
  });
}
