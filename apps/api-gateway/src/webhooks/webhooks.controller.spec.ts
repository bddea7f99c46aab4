import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deliveryJobId, WEBHOOK_DELIVERIES_QUEUE } from '@wagw/contracts';
import { SessionsRepository } from '@wagw/db';
import { createRedisConnection, type RedisConnection } from '@wagw/queue';
import { createTestTenant, startTestJwks, type TestJwks, type TestTenant } from '@wagw/testing';
import { openSecret, parseSecretKey } from '@wagw/webhooks';
import { gatewayForSuite, startTestGateway, TEST_WEBHOOK_SECRET_KEY, type TestGateway } from '../test/gateway-harness.js';

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

  describe('changing, rotating, testing, deliveries and replay', () => {
    let redis: RedisConnection;
    let deliveriesQueue: Queue;

    beforeAll(() => {
      redis = createRedisConnection(inject('redisUrl'), 'webhooks-spec');
      deliveriesQueue = new Queue(WEBHOOK_DELIVERIES_QUEUE, { connection: redis });
    });
    afterAll(async () => {
      await deliveriesQueue.close();
      redis.disconnect();
    });

    const endpointOf = async (tenant: TestTenant, url = 'https://hooks.example.com/x') => (await create(tenant.apiKey, { url, events: ['message.revoked'] })).body as { id: string; secret: string };
    const send = (path: string, token: string, method: string, body?: unknown) =>
      gateway.request(path, { method, token, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });

    it('PATCH changes what an endpoint receives, validates like create, and re-enabling clears the reason', async () => {
      const endpoint = await endpointOf(orgA);
      const patched = await send(`/api/v1/webhooks/${endpoint.id}`, orgA.apiKey, 'PATCH', { events: ['message.revoked', 'session.status'], description: 'ops' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: endpoint.id, events: ['message.revoked', 'session.status'], description: 'ops', url: 'https://hooks.example.com/x' });
      expect((await send(`/api/v1/webhooks/${endpoint.id}`, orgA.apiKey, 'PATCH', { url: 'gopher://x' })).body).toMatchObject({ error: { code: 'validation_failed', details: { fields: { url: expect.any(String) } } } });
      expect((await send(`/api/v1/webhooks/${endpoint.id}`, orgA.apiKey, 'PATCH', {})).status).toBe(400);
      expect((await send(`/api/v1/webhooks/${endpoint.id}`, orgA.apiKey, 'PATCH', { enabled: 'yes' })).status).toBe(400);
      expect((await send(`/api/v1/webhooks/${endpoint.id}`, orgB.apiKey, 'PATCH', { description: 'mine now' })).status).toBe(404);

      await gateway.db.webhookEndpoint.update({ where: { id: endpoint.id }, data: { enabled: false, disabledReason: 'answered 410 Gone', failingSince: new Date() } });
      const enabled = await send(`/api/v1/webhooks/${endpoint.id}`, orgA.apiKey, 'PATCH', { enabled: true });
      expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
      const audit = await gateway.db.auditLogEntry.findMany({ where: { orgId: orgA.orgId, targetId: endpoint.id }, orderBy: { createdAt: 'asc' } });
      expect(audit.map((entry) => entry.action)).toEqual(['webhook.created', 'webhook.updated', 'webhook.updated']);
    });

    it('rotate-secret shows a new secret once and keeps the old one signing for the grace period', async () => {
      const endpoint = await endpointOf(orgA);
      const rotated = await send(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, orgA.apiKey, 'POST');
      expect(rotated.status).toBe(200);
      const body = rotated.body as { secret: string; previousSecretValidUntil: string };
      expect(body.secret).toMatch(/^whsec_/);
      expect(body.secret).not.toBe(endpoint.secret);
      expect(Date.parse(body.previousSecretValidUntil)).toBeGreaterThan(Date.now() + 3_600_000);
      const row = await gateway.db.webhookEndpoint.findUnique({ where: { id: endpoint.id } });
      const key = parseSecretKey(TEST_WEBHOOK_SECRET_KEY);
      expect(openSecret(row?.secretCiphertext ?? '', key)).toBe(body.secret);
      expect(openSecret(row?.previousSecretCiphertext ?? '', key)).toBe(endpoint.secret);
      expect((await send(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, orgB.apiKey, 'POST')).status).toBe(404);
    });

    it('test queues a signed ping for that endpoint only; a disabled endpoint answers 409', async () => {
      const endpoint = await endpointOf(orgA);
      const other = await endpointOf(orgA);
      const pinged = await send(`/api/v1/webhooks/${endpoint.id}/test`, orgA.apiKey, 'POST');
      expect(pinged.status).toBe(202);
      const delivery = pinged.body as { id: string; event: string; status: string; attempts: number };
      expect(delivery).toMatchObject({ event: 'webhook.test', status: 'pending', attempts: 0 });
      expect(await deliveriesQueue.getJob(deliveryJobId(delivery.id, 0))).toBeDefined();
      expect(await gateway.db.webhookDelivery.count({ where: { endpointId: other.id } })).toBe(0);
      expect((await send(`/api/v1/webhooks/${endpoint.id}/test`, orgB.apiKey, 'POST')).status).toBe(404);
      await send(`/api/v1/webhooks/${endpoint.id}`, orgA.apiKey, 'PATCH', { enabled: false });
      expect((await send(`/api/v1/webhooks/${endpoint.id}/test`, orgA.apiKey, 'POST')).body).toMatchObject({ error: { code: 'conflict' } });
    });

    it('lists deliveries with status, attempts, last response and next attempt; replays one', async () => {
      const endpoint = await endpointOf(orgA);
      const ping = (await send(`/api/v1/webhooks/${endpoint.id}/test`, orgA.apiKey, 'POST')).body as { id: string };
      await gateway.db.webhookDelivery.update({ where: { id: ping.id }, data: { status: 'exhausted', attempts: 8, lastStatusCode: 500, lastLatencyMs: 12, lastError: 'answered 500', nextAttemptAt: null } });
      const listed = await gateway.request(`/api/v1/webhooks/${endpoint.id}/deliveries?status=exhausted`, { token: orgA.apiKey });
      expect(listed.body).toEqual({
        data: [expect.objectContaining({ id: ping.id, event: 'webhook.test', status: 'exhausted', attempts: 8, lastStatusCode: 500, lastLatencyMs: 12, lastError: 'answered 500', nextAttemptAt: null })],
        nextCursor: null,
      });
      expect(((await gateway.request(`/api/v1/webhooks/${endpoint.id}/deliveries?status=delivered`, { token: orgA.apiKey })).body as { data: unknown[] }).data).toEqual([]);
      expect((await gateway.request(`/api/v1/webhooks/${endpoint.id}/deliveries?status=lost`, { token: orgA.apiKey })).status).toBe(400);
      expect((await gateway.request(`/api/v1/webhooks/${endpoint.id}/deliveries`, { token: orgB.apiKey })).status).toBe(404);

      expect((await send(`/api/v1/webhooks/${endpoint.id}/deliveries/${ping.id}/replay`, orgB.apiKey, 'POST')).status).toBe(404);
      expect((await send(`/api/v1/webhooks/${endpoint.id}/deliveries/${randomUUID()}/replay`, orgA.apiKey, 'POST')).status).toBe(404);
      const replayed = await send(`/api/v1/webhooks/${endpoint.id}/deliveries/${ping.id}/replay`, orgA.apiKey, 'POST');
      expect(replayed.status).toBe(202);
      expect(replayed.body).toMatchObject({ id: ping.id, status: 'pending', attempts: 8, lastError: null });
      expect(await deliveriesQueue.getJob(deliveryJobId(ping.id, 8))).toBeDefined();
    });
  });
});

describe('webhooks on a gateway without WEBHOOK_SECRET_KEY', () => {
  // A blank value is an unset one (loadConfig drops blanks).
  const suite = gatewayForSuite({ env: { WEBHOOK_SECRET_KEY: '' } });

  it('answers 503 not_configured naming the setting, and writes nothing', async () => {
    const response = await suite.gateway.request('/api/v1/webhooks', {
      method: 'POST',
      token: suite.tenant.apiKey,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://hooks.example.com/x', events: ['message.revoked'] }),
    });
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ error: { code: 'not_configured', details: { setting: 'WEBHOOK_SECRET_KEY' } } });
    expect(await suite.gateway.db.webhookEndpoint.count({ where: { orgId: suite.tenant.orgId } })).toBe(0);
  });
});
