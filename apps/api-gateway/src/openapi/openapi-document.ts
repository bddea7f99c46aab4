import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { apiSchemas } from '@wagw/contracts';
import { API_KEY_SCHEME, apiRequestSchemas, LOGIN_JWT_SCHEME } from './api-docs.js';
import { documentHealthRoutes } from './health-docs.js';

export const OPENAPI_JSON_PATH = 'openapi.json';
export const DOCS_PATH = 'docs';

const API_DESCRIPTION = `A self-hostable, multi-tenant WhatsApp HTTP gateway.

Every error answers \`{"error": {"code", "message", "details"}}\` (schema \`ErrorEnvelope\`); clients switch on \`code\`.
Sends and revokes accept an \`Idempotency-Key\` header: a retry with the same key returns the first outcome.`;

type ComponentSchemas = Record<string, Record<string, unknown>>;

/** The named schemas as OpenAPI components: JSON Schema 2020-12 is OpenAPI 3.1's own dialect. */
function componentSchemas(registry: typeof apiSchemas | typeof apiRequestSchemas, io: 'input' | 'output'): ComponentSchemas {
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', io, unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` });
  const components: ComponentSchemas = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, unknown>;
    components[id] = rest;
  }
  return components;
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The OpenAPI 3.1 document of the running gateway's routes. Deterministic for a given code base, so the
 * copy checked in at docs/openapi.json can be compared with it.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  documentHealthRoutes();
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('WhatsApp Gateway')
    .setDescription(API_DESCRIPTION)
    .setVersion('1')
    .setLicense('MIT', 'https://opensource.org/license/mit')
    .addSecurity(API_KEY_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'API key',
      description: 'An API key for a script or service (`wagw_<prefix>_<secret>`), carrying a fixed set of capabilities chosen when it was created.',
    })
    .addSecurity(LOGIN_JWT_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: "A login JWT minted by the organization's frontend, verified against its JWKS; the person's organization and role are read from its claims.",
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '').replace(/^./, (first) => first.toLowerCase())}.${methodKey}`,
  });
  document.components = {
    ...document.components,
    schemas: sortedByKey({ ...componentSchemas(apiSchemas, 'output'), ...componentSchemas(apiRequestSchemas, 'input') }),
  };
  return document;
}

/** Serves the document at /openapi.json and a browsable reference at /docs, without authentication. */
export function serveOpenApiDocument(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, () => createOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'WhatsApp Gateway API',
    swaggerOptions: { persistAuthorization: false },
  });
}
