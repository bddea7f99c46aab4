import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { validate as validateOpenApi31, type Output } from '@hyperjump/json-schema/openapi-3-1';
import type { Json as HyperjumpJson } from '@hyperjump/json-pointer';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthController, IS_PUBLIC } from '@wagw/http';
import { createTestTenant, startTestJwks, type TestJwks, type TestTenant } from '@wagw/testing';
import { startTestGateway, type TestGateway } from '../test/gateway-harness.js';
import { SessionsController } from '../sessions/sessions.controller.js';
import { MessagesController } from '../messages/messages.controller.js';
import { OperationsController } from '../messages/operations.controller.js';
import { WebhooksController } from '../webhooks/webhooks.controller.js';
import { EventsController } from '../events/events.controller.js';
import { OrgController } from '../org/org.controller.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
const REVOKE_REFERENCE = resolve(import.meta.dirname, 'revoke-reference.facts.json');
const CHECKED_IN = resolve(REPO_ROOT, 'docs', 'openapi.json');
/** Bundled with @hyperjump/json-schema: nothing is fetched. */
const OPENAPI_31_SCHEMA = 'https://spec.openapis.org/oas/3.1/schema-base';
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
interface Operation {
  summary?: string;
  description?: string;
  operationId?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: Json }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: Json }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Json }> }>;
  security?: Array<Record<string, string[]>>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

/** The document as plain JSON, validated against OpenAPI 3.1's schema-base (bundled: nothing is fetched). */
function validOpenApi31(document: object): Promise<Output> {
  return validateOpenApi31(OPENAPI_31_SCHEMA, JSON.parse(JSON.stringify(document)) as HyperjumpJson);
}

const normalizeSpace = (text: string) => text.replace(/\s+/g, ' ').trim();

interface ReferenceField {
  name: string;
  required: boolean;
  type: string;
  description: string;
}
/**
 * The facts the revoke's API reference states (its method, path, parameters, body, result, error and
 * capability), written down beside this test so that it needs nothing outside the repository.
 */
interface RevokeReferenceFacts {
  summary: string;
  description: string;
  method: string;
  path: string;
  capability: string;
  pathParameters: ReferenceField[];
  bodyFields: ReferenceField[];
  response: Json;
  notFound: { error: Json };
}
const revokeReference = (): RevokeReferenceFacts => JSON.parse(readFileSync(REVOKE_REFERENCE, 'utf8')) as RevokeReferenceFacts;

describe('OpenAPI document', () => {
  let jwks: TestJwks;
  let gateway: TestGateway;
  let tenant: TestTenant;
  let document: OpenApiDocument;
  let ajv: Ajv2020;

  beforeAll(async () => {
    jwks = await startTestJwks();
    gateway = await startTestGateway({ jwks });
    tenant = await createTestTenant(gateway.db, jwks);
    const response = await gateway.request('/openapi.json');
    expect(response.status).toBe(200);
    document = response.body as OpenApiDocument;
    ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    ajv.addSchema({ $id: 'openapi.json', components: document.components });
  });
  afterAll(async () => {
    await gateway.close();
    await jwks.close();
  });

  /** Validates `value` against a schema of the document (references resolved against its components). */
  const conforms = (schema: Json, value: unknown): string | null => {
    const validate = ajv.compile({ $ref: `openapi.json#/components/schemas/${String(schema['$ref']).split('/').pop() ?? ''}` });
    return validate(value) ? null : JSON.stringify(validate.errors);
  };
  const resolveRef = (schema: Json): Json => {
    const ref = schema['$ref'];
    return typeof ref === 'string' ? (document.components.schemas[ref.split('/').pop() ?? ''] ?? {}) : schema;
  };

  it('is valid OpenAPI 3.1', async () => {
    expect(document.openapi).toBe('3.1.0');
    // schema-base also checks every schema in the document against OpenAPI 3.1's JSON Schema dialect.
    const valid = await validOpenApi31(document);
    expect(valid.valid, JSON.stringify(valid.valid ? [] : valid.errors)).toBe(true);
    // And the check can fail, on the document's structure or on one of its schemas.
    expect((await validOpenApi31({ ...document, paths: { '/x': { get: { responses: 'none' } } } })).valid).toBe(false);
    expect((await validOpenApi31({ ...document, components: { ...document.components, schemas: { Broken: { type: 'strin' } } } })).valid).toBe(false);
    // Every component is a schema a 2020-12 validator accepts.
    for (const id of Object.keys(document.components.schemas)) expect(() => conforms({ $ref: id }, null)).not.toThrow();
  });

  it('matches the copy checked in at docs/openapi.json', async () => {
    // `npx vitest run apps/api-gateway/src/openapi --update` rewrites it after an intended change; under CI a
    // difference fails.
    await expect(`${JSON.stringify(document, null, 2)}\n`).toMatchFileSnapshot(CHECKED_IN);
  });

  it('documents every route of every controller, each with a summary, its responses, and both security schemes where authenticated', () => {
    const controllers = [SessionsController, MessagesController, OperationsController, WebhooksController, OrgController, EventsController, HealthController];
    const routes: string[] = [];
    for (const controller of controllers) {
      const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler: unknown = Object.getOwnPropertyDescriptor(controller.prototype, name)?.value;
        if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const path = `/${[prefix, String(Reflect.getMetadata(PATH_METADATA, handler))].filter((part) => part !== '' && part !== '/').join('/')}`.replace(/:([A-Za-z]+)/g, '{$1}');
        const method: string | undefined = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        routes.push(`${(method ?? 'unknown').toLowerCase()} ${path}`);
        // The gateway authenticates everything under /api/ before reading a body: none of it may be public.
        if (path.startsWith('/api/')) expect(Reflect.getMetadata(IS_PUBLIC, handler) ?? Reflect.getMetadata(IS_PUBLIC, controller), path).toBeUndefined();
      }
    }
    const documented = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(routes.length).toBeGreaterThan(30);
    expect(documented.sort()).toEqual(routes.sort());

    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method} ${path}`;
        expect(operation.summary, where).toBeTruthy();
        const statuses = Object.keys(operation.responses);
        expect(statuses.some((status) => /^2/.test(status)), where).toBe(true);
        for (const [status, response] of Object.entries(operation.responses)) {
          if (status === '204') continue;
          // The event stream answers Server-Sent Events; its errors are JSON like every other.
          // Two routes answer something else than JSON: the event stream, and an attachment's bytes.
          const nonJson: Record<string, string> = { 'get /api/v1/events': 'text/event-stream', 'get /api/v1/sessions/{session}/messages/{mid}/media': 'application/octet-stream' };
          const mediaType = status === '200' ? (nonJson[where] ?? 'application/json') : 'application/json';
          expect(response.content?.[mediaType]?.schema, `${where} ${status}`).toBeDefined();
          if (/^[45]/.test(status)) expect(response.content?.['application/json']?.schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
        }
        if (path === '/healthz' || path === '/readyz') continue;
        expect(operation.security, where).toEqual([{ apiKey: [] }, { loginJwt: [] }]);
        expect(statuses, where).toEqual(expect.arrayContaining(['401', '403', '429']));
        for (const parameter of (operation.parameters ?? []).filter((p) => p.in === 'path')) expect(parameter.description, `${where} ${parameter.name}`).toBeTruthy();
      }
    }
    expect(document.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      loginJwt: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    });
  });

  it('describes the revoke exactly as its API reference does', () => {
    const seed = revokeReference();
    expect(seed.method).toBe('delete');
    expect(seed.pathParameters.map((parameter) => parameter.name)).toEqual(['session', 'mid']);
    expect(seed.bodyFields.map((field) => field.name)).toEqual(['chat', 'sender']);
    expect(seed.capability).toBe('send');
    expect(seed.description).toContain(`Requires the **\`${seed.capability}\`** capability`);

    const operation = document.paths[seed.path]?.[seed.method];
    expect(operation, `${seed.method} ${seed.path}`).toBeDefined();
    if (!operation) return;
    expect(operation.summary).toBe(seed.summary);
    expect(normalizeSpace(operation.description ?? '')).toBe(normalizeSpace(seed.description));

    const pathParameters = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
    expect(pathParameters.map((parameter) => ({ name: parameter.name, required: parameter.required, type: parameter.schema?.['type'], description: parameter.description }))).toEqual(
      seed.pathParameters.map((parameter) => ({ name: parameter.name, required: parameter.required, type: parameter.type, description: parameter.description })),
    );

    const body = resolveRef(operation.requestBody?.content['application/json']?.schema ?? {});
    const properties = body['properties'] as Record<string, Json>;
    expect(Object.keys(properties)).toEqual(seed.bodyFields.map((field) => field.name));
    expect((body['required'] as string[] | undefined) ?? []).toEqual(seed.bodyFields.filter((field) => field.required).map((field) => field.name));
    for (const field of seed.bodyFields) {
      const property = properties[field.name] ?? {};
      expect(property['description'], field.name).toBe(field.description);
      const alternatives = (property['anyOf'] as Json[] | undefined) ?? [property];
      expect(alternatives.every((alternative) => alternative['type'] === field.type), field.name).toBe(true);
    }

    const result = resolveRef(operation.responses['200']?.content?.['application/json']?.schema ?? {});
    const resultProperties = result['properties'] as Record<string, Json>;
    expect(Object.keys(resultProperties).sort()).toEqual(Object.keys(seed.response).sort());
    const jsonType = (value: unknown) => (typeof value === 'number' ? ['number', 'integer'] : [typeof value]);
    for (const [name, example] of Object.entries(seed.response)) expect(jsonType(example), name).toContain(resultProperties[name]?.['type']);
    expect(result['required']).toEqual(expect.arrayContaining(Object.keys(seed.response)));

    expect(operation.responses['404']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
    const envelope = document.components.schemas['ErrorEnvelope'] as { properties: { error: { properties: Json; required: string[] } } };
    expect(Object.keys(envelope.properties.error.properties).sort()).toEqual(Object.keys(seed.notFound.error).sort());
    expect(conforms({ $ref: 'ErrorEnvelope' }, seed.notFound)).toBeNull();
    expect(operation.security).toEqual([{ apiKey: [] }, { loginJwt: [] }]);
  });

  it('describes what the gateway really answers: live responses validate against their documented schemas', async () => {
    const owner = await tenant.loginJwt('owner');
    const json = (method: string, body: unknown) => ({ method, token: owner, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const session = await gateway.request('/api/v1/sessions', json('POST', { name: 'documented', metadata: { team: 'docs' } }));
    const sessionId = (session.body as { id: string }).id;
    const webhook = await gateway.request('/api/v1/webhooks', json('POST', { url: 'https://hooks.example.com/doc', events: ['message.revoked'] }));
    const webhookId = (webhook.body as { id: string }).id;
    const key = await gateway.request('/api/v1/org/api-keys', json('POST', { name: 'documented', capabilities: ['read'] }));
    const checks: Array<[string, string, string, { status: number; body: unknown }]> = [
      ['post', '/api/v1/sessions', '201', session],
      ['get', '/api/v1/sessions', '200', await gateway.request('/api/v1/sessions', { token: owner })],
      ['get', '/api/v1/sessions/{session}', '200', await gateway.request(`/api/v1/sessions/${sessionId}`, { token: owner })],
      ['post', '/api/v1/sessions/{session}/start', '200', await gateway.request(`/api/v1/sessions/${sessionId}/start`, { method: 'POST', token: owner })],
      ['get', '/api/v1/sessions/{session}/messages', '200', await gateway.request(`/api/v1/sessions/${sessionId}/messages`, { token: owner })],
      ['delete', '/api/v1/sessions/{session}/messages/{mid}', '404', await gateway.request(`/api/v1/sessions/${sessionId}/messages/3EB0C431C26A1916E07A`, json('DELETE', {}))],
      ['post', '/api/v1/webhooks', '201', webhook],
      ['get', '/api/v1/webhooks', '200', await gateway.request('/api/v1/webhooks', { token: owner })],
      ['post', '/api/v1/webhooks/{webhook}/test', '202', await gateway.request(`/api/v1/webhooks/${webhookId}/test`, { method: 'POST', token: owner })],
      ['get', '/api/v1/webhooks/{webhook}/deliveries', '200', await gateway.request(`/api/v1/webhooks/${webhookId}/deliveries`, { token: owner })],
      ['post', '/api/v1/webhooks/{webhook}/rotate-secret', '200', await gateway.request(`/api/v1/webhooks/${webhookId}/rotate-secret`, { method: 'POST', token: owner })],
      ['get', '/api/v1/org', '200', await gateway.request('/api/v1/org', { token: owner })],
      ['post', '/api/v1/org/api-keys', '201', key],
      ['get', '/api/v1/org/api-keys', '200', await gateway.request('/api/v1/org/api-keys', { token: owner })],
      ['get', '/api/v1/org/sessions/overview', '200', await gateway.request('/api/v1/org/sessions/overview', { token: owner })],
      ['get', '/api/v1/org/usage', '200', await gateway.request('/api/v1/org/usage', { token: owner })],
      ['get', '/api/v1/org/audit-log', '200', await gateway.request('/api/v1/org/audit-log', { token: owner })],
      ['post', '/api/v1/org/api-keys', '400', await gateway.request('/api/v1/org/api-keys', json('POST', { name: 1 }))],
      ['get', '/api/v1/org/audit-log', '403', await gateway.request('/api/v1/org/audit-log', { token: await tenant.loginJwt('member') })],
      ['get', '/readyz', '200', await gateway.request('/readyz')],
    ];
    for (const [method, path, status, response] of checks) {
      expect(String(response.status), `${method} ${path}`).toBe(status);
      const schema = document.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema;
      expect(schema, `${method} ${path} ${status} is documented`).toBeDefined();
      if (!schema) continue;
      if (schema['$ref'] === undefined) continue;
      expect(conforms(schema, response.body), `${method} ${path} ${status}`).toBeNull();
    }
    // The check notices an answer that strays from the document.
    expect(conforms({ $ref: 'Session' }, { ...(session.body as Json), extra: true })).not.toBeNull();
  });

  it('serves a browsable reference at /docs without authentication, allowed to load its own scripts', async () => {
    const page = await fetch(`${gateway.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const bundle = await fetch(`${gateway.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    // The API itself keeps the strict policy.
    const documentResponse = await fetch(`${gateway.url}/openapi.json`);
    await documentResponse.arrayBuffer();
    expect(documentResponse.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });
});
