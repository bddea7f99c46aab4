import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsRepository } from '@wagw/db';
import { createTestTenant, startTestJwks, type TestJwks, type TestTenant } from '@wagw/testing';
import { openSecret, parseSecretKey } from '@wagw/webhooks';
import { startTestGateway, TEST_WEBHOOK_SECRET_KEY, type TestGateway } from '../test/gateway-harness.js';

describe('webhook endpoints API', () => {
  let jwks: TestJwks;
  let gateway: TestGateway;
  let orgA: TestTenant;
  let orgB: TestTenant;

  beforeAll(async () => {
    jwks = await startTestJwks();
    gateway = await startTestGateway({ jwks });
    orgA = await createTestTenant(gateway.db, jwks);
    orgB = await createTestTenant(gateway.db, jwks);
  });
  afterAll(async () => {
    await gateway.close();
    await jwks.close();
  });

  const create = (token: string, body: unknown) => gateway.request('/api/v1/webhooks', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('creates an endpoint, shows its whsec_ secret once, and stores only its ciphertext', async () => {
    const session = await new SessionsRepository(gateway.db).create(orgA.orgId, { name: 'hooked', createdBy: 'u' });
    const created = await create(orgA.apiKey, { url: 'https://hooks.example.com/wa', events: ['message.revoked'], sessions: [session.id], description: 'CRM' });
    expect(created.status).toBe(201);
    const body = created.body as { id: string; secret: string };
    expect(created.body).toMatchObject({ url: 'https://hooks.example.com/wa', events: ['message.revoked'], sessions: [session.id], description: 'CRM', enabled: true, secret: expect.stringMatching(/^whsec_/) });

    const row = await gateway.db.webhookEndpoint.findUnique({ where: { id: body.id } });
    expect(row?.secretCiphertext).not.toContain(body.secret.slice(6));
    expect(openSecret(row?.secretCiphertext ?? '', parseSecretKey(TEST_WEBHOOK_SECRET_KEY))).toBe(body.secret);

    const listed = await gateway.request('/api/v1/webhooks', { token: orgA.apiKey });
    expect(JSON.stringify(listed.body)).not.toContain(body.secret);
    expect((listed.body as { data: Array<{ id: string }> }).data.map((endpoint) => endpoint.id)).toContain(body.id);
    const audit = await gateway.db.auditLogEntry.findMany({ where: { orgId: orgA.orgId, targetId: body.id } });
    expect(audit.map((entry) => entry.action)).toEqual(['webhook.created']);
  });

  it.each([
    [{ url: 'ftp://example.com/x', events: ['message.revoked'] }, 'url'],
    [{ url: 'https://user:pw@example.com/x', events: ['message.revoked'] }, 'url'],
    [{ url: 'https://example.com/x', events: ['message.exploded'] }, 'events.0'],
    [{ url: 'https://example.com/x', events: [] }, 'events'],
    [{ url: 'https://example.com/x', events: ['message.revoked'], extra: true }, '(root)'],
  ])('answers 400 with field details for %j', async (payload, field) => {
    const response = await create(orgA.apiKey, payload);
    expect(response.status).toBe(400);
    expect(Object.keys((response.body as { error: { details: { fields: Record<string, string> } } }).error.details.fields)).toContain(field);
  });

  it("keeps organizations apart: another org's sessions cannot be named, its endpoints are not found", async () => {
    const foreignSession = await new SessionsRepository(gateway.db).create(orgB.orgId, { name: 'b', createdBy: 'u' });
    expect((await create(orgA.apiKey, { url: 'https://example.com/x', events: ['message.revoked'], sessions: [foreignSession.id] })).status).toBe(404);
    const mine = (await create(orgA.apiKey, { url: 'https://example.com/a', events: ['message.revoked'] })).body as { id: string };
    expect((await gateway.request(`/api/v1/webhooks/${mine.id}`, { token: orgB.apiKey })).status).toBe(404);
    expect((await gateway.request(`/api/v1/webhooks/${mine.id}`, { method: 'DELETE', token: orgB.apiKey })).status).toBe(404);
    expect((await gateway.request(`/api/v1/webhooks/${mine.id}`, { method: 'DELETE', token: orgA.apiKey })).status).toBe(204);
    expect((await gateway.request(`/api/v1/webhooks/${mine.id}`, { token: orgA.apiKey })).status).toBe(404);
    expect((await gateway.request(`/api/v1/webhooks/${randomUUID()}`, { token: orgA.apiKey })).status).toBe(404);
  });

  it('needs the webhooks:manage capability (a member has none)', async () => {
    const member = await orgA.loginJwt('member');
    expect((await create(member, { url: 'https://example.com/x', events: ['message.revoked'] })).body).toMatchObject({ error: { code: 'forbidden' } });
    expect((await gateway.request('/api/v1/webhooks', { token: member })).status).toBe(403);
  });
});
