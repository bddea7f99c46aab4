import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorEnvelopeSchema } from '@wagw/contracts';
import { SessionsRepository, WebhookEndpointsRepository } from '@wagw/db';
import { createTestTenant, type TestTenant } from '@wagw/testing';
import { gatewayForSuite, startTestGateway, type TestGateway } from './test/gateway-harness.js';

/**
 * Malformed input, table-driven: every request below is wrong in some way, and each must be answered
 * with a 4xx in the error envelope, never a 500, and change nothing.
 */
const isEnvelope = new Ajv2020({ strict: false }).compile(z.toJSONSchema(errorEnvelopeSchema, { target: 'draft-2020-12', io: 'output' }));

const BODY_LIMIT_BYTES = 64 * 1024;
const HUGE = 'x'.repeat(BODY_LIMIT_BYTES - 1024);
const NUL = 'bad\u0000value';
const LONE_SURROGATE = 'bad\ud800value';
const RTL_OVERRIDE = '\u202egnp.exe';
const EMOJI_JID = '🙂🙂🙂🙂🙂@s.whatsapp.net';
const ARABIC_DIGITS_JID = '١٢٣٤٥٦٧٨٩@s.whatsapp.net';
const DEEP = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;

/** Values of the wrong type or shape for any scalar field. */
const WRONG_VALUES: readonly unknown[] = [null, 0, -1, 1.5, true, [], {}, [1, 2], { nested: { deeper: true } }, HUGE, NUL, LONE_SURROGATE];

/**
 * Ids that are not ids. The 36-character forms pass a `[0-9a-f-]{36}` check but are no UUID: Postgres
 * refuses them, so only a parse of the exact type keeps them from SQL.
 */
const BAD_IDS = ['x', 'null', '%00', '%F0%9F%99%82', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(2000), "1'%20OR%20'1'='1", '00000000-0000-0000-0000-00000000000g', '{session}', '000000000000000000000000000000000000', '0000000-00000-0000-0000-0000000000000', '------------------------------------', 'ffffffff-ffff-ffff-ffff-fffffffffff'];

/** Every route with an id in its path, the id's place marked ID (the other ids are real ones). */
const ID_ROUTES = [
  ['GET', '/api/v1/sessions/ID'],
  ['POST', '/api/v1/sessions/ID/start'],
  ['POST', '/api/v1/sessions/ID/stop'],
  ['POST', '/api/v1/sessions/ID/logout'],
  ['DELETE', '/api/v1/sessions/ID'],
  ['GET', '/api/v1/sessions/ID/qr'],
  ['POST', '/api/v1/sessions/ID/pairing-code'],
  ['POST', '/api/v1/sessions/ID/messages'],
  ['GET', '/api/v1/sessions/ID/messages'],
  ['GET', `/api/v1/sessions/${'SESSION'}/messages/ID`],
  ['DELETE', `/api/v1/sessions/${'SESSION'}/messages/ID`],
  ['DELETE', '/api/v1/sessions/ID/messages/3EB0C431C26A1916E07A'],
  ['GET', '/api/v1/operations/ID'],
  ['GET', '/api/v1/webhooks/ID'],
  ['PATCH', '/api/v1/webhooks/ID'],
  ['DELETE', '/api/v1/webhooks/ID'],
  ['POST', '/api/v1/webhooks/ID/rotate-secret'],
  ['POST', '/api/v1/webhooks/ID/test'],
  ['GET', '/api/v1/webhooks/ID/deliveries'],
  ['POST', `/api/v1/webhooks/${'WEBHOOK'}/deliveries/ID/replay`],
  ['POST', '/api/v1/webhooks/ID/deliveries/00000000-0000-7000-8000-000000000000/replay'],
  ['DELETE', '/api/v1/org/api-keys/ID'],
] as const;

interface Case {
  name: string;
  method: string;
  path: string;
  /** A JSON value to send, or a raw string sent as is. */
  body?: unknown;
  raw?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
}

describe('malformed input: always a 4xx in the envelope, never a 500, nothing written', () => {
  let gateway: TestGateway;
  let tenant: TestTenant;
  let sessionId: string;
  let webhookId: string;
  const cases: Case[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway({ env: { BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES), RATE_LIMIT_KEY_WRITES: '0', RATE_LIMIT_KEY_READS: '0', RATE_LIMIT_ORG_WRITES: '0', RATE_LIMIT_ORG_READS: '0' } });
    tenant = await createTestTenant(gateway.db);
    sessionId = (await new SessionsRepository(gateway.db).create(tenant.orgId, { name: 'fuzzed', createdBy: 'u' })).id;
    webhookId = (await new WebhookEndpointsRepository(gateway.db).create(tenant.orgId, { url: 'https://hooks.example.com/f', events: ['message.revoked'], sessionIds: [], description: null, secretCiphertext: 'x' })).id;

    /** Each body route with a valid body: every field in turn gets every wrong value, then the whole body is broken. */
    const bodyRoutes: Array<{ method: string; path: string; valid: Record<string, unknown>; bad: Array<Record<string, unknown>>; accepts?: Record<string, unknown[]> }> = [
      { method: 'POST', path: '/api/v1/sessions', valid: { name: 'ok', metadata: { a: 'b' }, start: false }, accepts: { metadata: [{}], start: [true] }, bad: [{ name: '' }, { name: '   ' }, { name: 'n', metadata: { 'bad key!': 'v' } }, { name: 'n', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }] },
      { method: 'POST', path: `/api/v1/sessions/${'SESSION'}/pairing-code`, valid: { phone: '15551234567' }, bad: [{ phone: '+1 555' }, { phone: '١٢٣٤٥٦٧٨٩' }, { phone: '1'.repeat(16) }] },
      {
        method: 'POST',
        path: `/api/v1/sessions/${'SESSION'}/messages`,
        valid: { chat: '15551234567@s.whatsapp.net', text: 'hi', replyTo: '3EB0C431C26A1916E07A' },
        bad: [{ chat: EMOJI_JID, text: 'hi' }, { chat: ARABIC_DIGITS_JID, text: 'hi' }, { chat: '15551234567@evil.com', text: 'hi' }, { chat: '15551234567@s.whatsapp.net', text: '' }, { chat: '15551234567@s.whatsapp.net', text: 'x'.repeat(4097) }, { chat: '15551234567@s.whatsapp.net', text: 'hi', replyTo: '../../' }],
      },
      {
        method: 'DELETE',
        path: `/api/v1/sessions/${'SESSION'}/messages/3EB0C431C26A1916E07A`,
        valid: { chat: '15551234567@s.whatsapp.net', sender: '' },
        bad: [{ chat: 'not-a-jid' }, { chat: RTL_OVERRIDE }, { sender: '120363025246125888@g.us' }, { sender: EMOJI_JID }],
      },
      { method: 'POST', path: '/api/v1/webhooks', valid: { url: 'https://hooks.example.com/a', events: ['message.revoked'], sessions: [], description: 'd' }, accepts: { sessions: [[]] }, bad: [{ url: 'javascript:alert(1)', events: ['message.revoked'] }, { url: 'https://hooks.example.com/a', events: ['message.revoked', 'message.*'] }, { url: 'https://hooks.example.com/a', events: ['message.revoked'], sessions: ['not-a-uuid'] }, { url: `https://hooks.example.com/${'a'.repeat(3000)}`, events: ['message.revoked'] }] },
      { method: 'PATCH', path: `/api/v1/webhooks/${'WEBHOOK'}`, valid: { description: 'd', enabled: true }, accepts: { description: [null], enabled: [true] }, bad: [{}, { enabled: 'yes' }, { url: 'ftp://x' }] },
      { method: 'POST', path: '/api/v1/org/api-keys', valid: { name: 'k', capabilities: ['read'], expiresAt: '2030-01-01T00:00:00Z' }, bad: [{ name: 'k', capabilities: ['sénd'] }, { name: 'k', capabilities: ['read'], expiresAt: '2030-13-45T99:00:00Z' }, { name: 'k', capabilities: ['read'], expiresAt: '1e999' }] },
    ];
    for (const route of bodyRoutes) {
      for (const field of Object.keys(route.valid)) {
        for (const value of WRONG_VALUES) {
          if (route.accepts?.[field]?.some((accepted) => JSON.stringify(accepted) === JSON.stringify(value))) continue;
          cases.push({ name: `${route.method} ${route.path} ${field}=${JSON.stringify(value)?.slice(0, 40)}`, method: route.method, path: route.path, body: { ...route.valid, [field]: value } });
        }
      }
      for (const bad of route.bad) cases.push({ name: `${route.method} ${route.path} ${JSON.stringify(bad).slice(0, 60)}`, method: route.method, path: route.path, body: bad });
      const broken: Array<Omit<Case, 'method' | 'path'>> = [
        { name: 'extra field', body: { ...route.valid, isAdmin: true } },
        { name: '__proto__ pollution', raw: `{"__proto__": {"isAdmin": true}, ${JSON.stringify(route.valid).slice(1)}` },
        { name: 'constructor pollution', raw: `{"constructor": {"prototype": {"isAdmin": true}}}` },
        { name: 'array body', body: [route.valid] },
        { name: 'string body', body: 'hello' },
        { name: 'number body', body: 42 },
        { name: 'invalid JSON', raw: '{"name": ' },
        { name: 'trailing garbage', raw: `${JSON.stringify(route.valid)}xyz` },
        { name: 'empty body with a JSON content type', raw: '' },
        { name: 'deeply nested', raw: `{"deep": ${DEEP}}` },
        { name: 'over the body limit', raw: JSON.stringify({ ...route.valid, padding: 'x'.repeat(BODY_LIMIT_BYTES + 10) }) },
        { name: 'text/plain', body: route.valid, contentType: 'text/plain' },
        { name: 'form encoded', raw: 'name=ok', contentType: 'application/x-www-form-urlencoded' },
        { name: 'multipart', raw: '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nok\r\n--b--', contentType: 'multipart/form-data; boundary=b' },
        { name: 'xml', raw: '<name>ok</name>', contentType: 'application/xml' },
        { name: 'JSON in UTF-16', raw: JSON.stringify(route.valid), contentType: 'application/json; charset=utf-16' },
        { name: 'no content type', raw: JSON.stringify(route.valid), contentType: null },
      ];
      // The revoke's body is optional: absent or empty it means "locate by mid", which is not malformed.
      for (const variant of broken) {
        if (route.method === 'DELETE' && (variant.name === 'no content type' || variant.name === 'empty body with a JSON content type')) continue;
        cases.push({ ...variant, name: `${route.method} ${route.path} ${variant.name}`, method: route.method, path: route.path });
      }
    }
    // Missing required bodies.
    for (const path of ['/api/v1/sessions', '/api/v1/webhooks', '/api/v1/org/api-keys', `/api/v1/sessions/${'SESSION'}/messages`]) cases.push({ name: `POST ${path} without a body`, method: 'POST', path, contentType: null });

    for (const id of BAD_IDS) {
      for (const [method, template] of ID_ROUTES) {
        cases.push({ name: `${method} ${template} with id ${id.slice(0, 30)}`, method, path: template.replace('ID', id), ...(method === 'GET' ? {} : { body: {} }) });
      }
    }
    const badQueries = ['limit=abc', 'limit=-1', 'limit=0', 'limit=1e9', 'limit=1&limit=2', 'limit=', `cursor=${'a'.repeat(500)}`, 'cursor=%00', 'cursor=bm90LWEtdXVpZA', 'unknown=1', 'limit[]=1', 'limit[$gt]=1'];
    for (const query of badQueries) {
      for (const path of ['/api/v1/sessions', `/api/v1/sessions/${'SESSION'}/messages`, `/api/v1/webhooks/${'WEBHOOK'}/deliveries`, '/api/v1/org/api-keys', '/api/v1/org/audit-log']) {
        cases.push({ name: `GET ${path}?${query.slice(0, 40)}`, method: 'GET', path: `${path}?${query}` });
      }
    }
    for (const query of ['from=2026-02-30', 'from=today', 'to=2026-01-01&from=2026-02-01', 'from=2020-01-01&to=2026-01-01', 'from=2026-01-01T00:00:00Z', 'from=%00', 'from[]=2026-01-01', 'granularity=hour']) {
      cases.push({ name: `GET /api/v1/org/usage?${query}`, method: 'GET', path: `/api/v1/org/usage?${query}` });
    }
    cases.push({ name: `GET /api/v1/sessions/${'SESSION'}/messages?chat=${EMOJI_JID}`, method: 'GET', path: `/api/v1/sessions/${'SESSION'}/messages?chat=${encodeURIComponent(EMOJI_JID)}` });
    // Header values travel as bytes: the Cyrillic key goes out as its UTF-8 bytes.
    for (const key of ['', ' ', Buffer.from('ключ').toString('latin1'), 'a'.repeat(256), 'tab\there']) {
      cases.push({ name: `revoke with Idempotency-Key ${JSON.stringify(key).slice(0, 20)}`, method: 'DELETE', path: `/api/v1/sessions/${'SESSION'}/messages/3EB0C431C26A1916E07A`, body: {}, headers: { 'idempotency-key': key } });
    }
  });
  afterAll(async () => {
    await gateway.close();
  });

  const rowCounts = async () => ({
    sessions: await gateway.db.whatsAppSession.count({ where: { orgId: tenant.orgId } }),
    webhooks: await gateway.db.webhookEndpoint.count({ where: { orgId: tenant.orgId } }),
    apiKeys: await gateway.db.apiKey.count({ where: { orgId: tenant.orgId } }),
    outbox: await gateway.db.outboxOperation.count({ where: { orgId: tenant.orgId } }),
    audit: await gateway.db.auditLogEntry.count({ where: { orgId: tenant.orgId } }),
    deliveries: await gateway.db.webhookDelivery.count({ where: { orgId: tenant.orgId } }),
    webhook: JSON.stringify(await gateway.db.webhookEndpoint.findUnique({ where: { id: webhookId } })),
  });

  it('answers every malformed request with a 4xx envelope', async () => {
    expect(cases.length).toBeGreaterThan(400);
    const before = await rowCounts();
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const testCase of cases) {
      const path = testCase.path.replaceAll('SESSION', sessionId).replaceAll('WEBHOOK', webhookId);
      const headers = new Headers({ authorization: `Bearer ${tenant.apiKey}`, ...testCase.headers });
      let body: string | undefined;
      if (testCase.raw !== undefined) body = testCase.raw;
      else if (testCase.body !== undefined) body = JSON.stringify(testCase.body);
      const contentType = testCase.contentType === undefined ? (body === undefined ? null : 'application/json') : testCase.contentType;
      if (contentType !== null) headers.set('content-type', contentType);
      const response = await fetch(`${gateway.url}${path}`, { method: testCase.method, headers, ...(body === undefined ? {} : { body }) });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        // reported below
      }
      if (response.status < 400 || response.status >= 500 || !isEnvelope(parsed)) failures.push(`${testCase.name}: ${response.status} ${text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect(await rowCounts()).toEqual(before);
    // The table reaches each kind of refusal, not just one.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 404, 413, 415]));
  });
});

describe('ids in paths are parsed as the type they are', () => {
  const suite = gatewayForSuite({ env: { RATE_LIMIT_KEY_WRITES: '0', RATE_LIMIT_KEY_READS: '0', RATE_LIMIT_ORG_WRITES: '0', RATE_LIMIT_ORG_READS: '0' } });

  it('answers a 36-character id that is no UUID with a 400 naming the parameter, on every route', async () => {
    const wrong: string[] = [];
    // A message id (`mid`) is WhatsApp's, not a UUID: 36 zeros is a well-formed one.
    for (const [method, template] of ID_ROUTES.filter(([, route]) => !route.includes('messages/ID'))) {
      const path = template.replace('ID', '000000000000000000000000000000000000').replaceAll('SESSION', '00000000-0000-7000-8000-000000000000').replaceAll('WEBHOOK', '00000000-0000-7000-8000-000000000000');
      const response = await suite.gateway.request(path, { method, token: suite.tenant.apiKey, ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
      const error = (response.body as { error?: { code?: string; details?: { fields?: Record<string, string> } } }).error;
      const fields = Object.keys(error?.details?.fields ?? {});
      if (response.status !== 400 || error?.code !== 'validation_failed' || fields.length !== 1 || !/^(session|mid|operation|webhook|delivery|key)$/.test(fields[0] ?? '')) {
        wrong.push(`${method} ${template}: ${response.status} ${JSON.stringify(response.body).slice(0, 160)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('text the database cannot store faithfully', () => {
  const suite = gatewayForSuite();

  it.each([
    [{ name: NUL }, 'name', 'NUL'],
    [{ name: 'ok', metadata: { team: NUL } }, 'metadata.team', 'NUL'],
    [{ name: LONE_SURROGATE }, 'name', 'lone surrogate'],
    [{ name: 'ok', metadata: { [`k${'\ud800'}`]: 'v' } }, 'metadata.k\ud800', 'valid Unicode'],
  ])('refuses %j with 400 naming the field, instead of a 500 or a silently altered value', async (body, field, problem) => {
    const response = await suite.gateway.request('/api/v1/sessions', { method: 'POST', token: suite.tenant.apiKey, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    const fields = (response.body as { error: { details: { fields: Record<string, string> } } }).error.details.fields;
    expect(Object.keys(fields)).toEqual([field]);
    expect(fields[field]).toContain(problem);
    expect(await suite.gateway.db.whatsAppSession.count({ where: { orgId: suite.tenant.orgId } })).toBe(0);
  });
});
