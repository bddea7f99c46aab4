import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '@wagw/contracts';
import { hashApiKey } from '@wagw/auth';
import { DomainEventsRepository, SessionsRepository, WebhookEndpointsRepository } from '@wagw/db';
import { createTestTenant, startTestJwks, type TestJwks, type TestTenant } from '@wagw/testing';
import { startTestGateway, type TestGateway } from '../test/gateway-harness.js';

interface KeyBody {
  id: string;
  key: string;
  prefix: string;
  name: string;
  capabilities: string[];
}
interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}
interface AuditBody {
  data: Array<{ id: string; action: string; actor: { kind: string; id: string }; target: { type: string; id: string | null }; details: Record<string, unknown>; createdAt: string }>;
  nextCursor: string | null;
}

describe('org dashboard API', () => {
  let jwks: TestJwks;
  let gateway: TestGateway;
  let orgA: TestTenant;
  let orgB: TestTenant;

  beforeAll(async () => {
    jwks = await startTestJwks();
    gateway = await startTestGateway({ jwks, env: { RATE_LIMIT_KEY_WRITES: '777' } });
    orgA = await createTestTenant(gateway.db, jwks);
    orgB = await createTestTenant(gateway.db, jwks);
  });
  afterAll(async () => {
    await gateway.close();
    await jwks.close();
  });

  const json = (method: string, token: string, body: unknown): RequestInit & { token: string } => ({ method, token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const createKey = (token: string, body: unknown) => gateway.request('/api/v1/org/api-keys', json('POST', token, body));
  const auditLog = async (tenant: TestTenant, query = ''): Promise<AuditBody> => (await gateway.request(`/api/v1/org/audit-log${query}`, { token: tenant.apiKey })).body as AuditBody;

  it('shows the organization with its counts, limits and the caller', async () => {
    const tenant = await createTestTenant(gateway.db, jwks);
    const sessions = new SessionsRepository(gateway.db);
    const connected = await sessions.create(tenant.orgId, { name: 'one', createdBy: 'u' });
    await sessions.update(tenant.orgId, connected.id, { status: 'connected' });
    await sessions.create(tenant.orgId, { name: 'two', createdBy: 'u' });
    const revoked = await tenant.createApiKey(['read']);
    await gateway.request(`/api/v1/org/api-keys/${revoked.id}`, { method: 'DELETE', token: tenant.apiKey });

    const viewer = await tenant.loginJwt('viewer');
    const response = await gateway.request('/api/v1/org', { token: viewer });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: tenant.orgId,
      name: expect.stringMatching(/^test-org-/),
      createdAt: expect.any(String),
      counts: { sessions: 2, connectedSessions: 1, activeApiKeys: 1, webhookEndpoints: 0, enabledWebhookEndpoints: 0 },
      limits: { rateLimitWindowSeconds: 60, perKey: { reads: 6000, writes: 777 }, perOrganization: { reads: 30000, writes: 12000 }, bodyLimitBytes: 1048576, pageSizeMax: 200, usageMaxDays: 366 },
      caller: { kind: 'user', subject: tenant.userId, role: 'viewer', capabilities: ['read'] },
    });
  });

  it('creates a key shown once, stores only its hash, lists it without the secret, and a revoked key fails at once', async () => {
    const owner = await orgA.loginJwt('owner');
    const created = await createKey(owner, { name: 'CRM sync', capabilities: ['send', 'read'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(created.status).toBe(201);
    const key = created.body as KeyBody;
    expect(created.body).toMatchObject({ name: 'CRM sync', capabilities: ['send', 'read'], createdBy: orgA.userId, revokedAt: null, lastUsedAt: null, key: expect.stringMatching(/^wagw_[0-9a-f]{12}_/) });
    expect(key.key.startsWith(`${key.prefix}_`)).toBe(true);
    const row = await gateway.db.apiKey.findUnique({ where: { id: key.id } });
    expect(row?.secretHash).toBe(hashApiKey(key.key));
    expect(JSON.stringify(row)).not.toContain(key.key.slice(key.prefix.length + 1));

    expect((await gateway.request('/api/v1/sessions', { token: key.key })).status).toBe(200);
    const listed = await gateway.request('/api/v1/org/api-keys', { token: owner });
    expect(JSON.stringify(listed.body)).not.toContain(key.key);
    const entry = (listed.body as { data: Array<Record<string, unknown>> }).data.find((item) => item['id'] === key.id);
    expect(entry).toMatchObject({ prefix: key.prefix, name: 'CRM sync', capabilities: ['send', 'read'], createdBy: orgA.userId, expiresAt: expect.any(String), revokedAt: null });
    expect(Object.keys(entry ?? {}).sort()).toEqual(['capabilities', 'createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt']);

    expect((await gateway.request(`/api/v1/org/api-keys/${key.id}`, { method: 'DELETE', token: owner })).status).toBe(204);
    expect((await gateway.request('/api/v1/sessions', { token: key.key })).status).toBe(401);
    const again = await gateway.request(`/api/v1/org/api-keys/${key.id}`, { method: 'DELETE', token: owner });
    expect(again.status).toBe(409);
    expect((again.body as ErrorBody).error.code).toBe('conflict');
    // Revoked keys leave the default listing and stay visible on request.
    const ids = (query: string) => gateway.request(`/api/v1/org/api-keys${query}`, { token: owner }).then((page) => (page.body as { data: Array<{ id: string }> }).data.map((item) => item.id));
    expect(await ids('')).not.toContain(key.id);
    expect(await ids('?includeRevoked=true')).toContain(key.id);

    const actions = (await auditLog(orgA)).data.filter((item) => item.target.id === key.id);
    expect(actions.map((item) => [item.action, item.actor])).toEqual([
      ['api_key.revoked', { kind: 'user', id: orgA.userId }],
      ['api_key.created', { kind: 'user', id: orgA.userId }],
    ]);
    expect(actions[1]?.details).toEqual({ name: 'CRM sync', prefix: key.prefix, capabilities: ['send', 'read'] });
  });

  it('records when a key was last used', async () => {
    const created = (await createKey(orgA.apiKey, { name: 'used', capabilities: ['read'] })).body as KeyBody;
    await gateway.request('/api/v1/sessions', { token: created.key });
    let lastUsedAt: unknown = null;
    for (let tries = 0; tries < 50 && lastUsedAt === null; tries += 1) {
      const listed = await gateway.request('/api/v1/org/api-keys', { token: orgA.apiKey });
      lastUsedAt = (listed.body as { data: Array<{ id: string; lastUsedAt: string | null }> }).data.find((item) => item.id === created.id)?.lastUsedAt ?? null;
      if (lastUsedAt === null) await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    }
    expect(lastUsedAt).toEqual(expect.any(String));
  });

  it('lets neither a member nor a viewer manage keys or read the audit log', async () => {
    for (const role of ['member', 'viewer'] as const) {
      const token = await orgA.loginJwt(role);
      const attempts = [
        await createKey(token, { name: 'mine', capabilities: ['read'] }),
        await gateway.request('/api/v1/org/api-keys', { token }),
        await gateway.request(`/api/v1/org/api-keys/${orgA.apiKeyId}`, { method: 'DELETE', token }),
        await gateway.request('/api/v1/org/audit-log', { token }),
      ];
      expect(attempts.map((attempt) => attempt.status)).toEqual([403, 403, 403, 403]);
      expect((attempts[0]?.body as ErrorBody).error).toMatchObject({ code: 'forbidden', details: { required: 'keys:manage' } });
    }
    // The owner's key still works: the member's DELETE changed nothing.
    expect((await gateway.request('/api/v1/org', { token: orgA.apiKey })).status).toBe(200);
  });

  it('never lets a key grant, or revoke, capabilities it does not hold', async () => {
    const limited = await orgA.createApiKey(['keys:manage', 'send']);
    const escalation = await createKey(limited.key, { name: 'more', capabilities: ['send', 'read'] });
    expect(escalation.status).toBe(403);
    expect((escalation.body as ErrorBody).error).toMatchObject({ code: 'forbidden', details: { notHeld: ['read'] } });
    const everything = await createKey(limited.key, { name: 'all', capabilities: [...CAPABILITIES] });
    expect((everything.body as ErrorBody).error.details).toEqual({ notHeld: ['read', 'sessions:manage', 'webhooks:manage'] });

    const subset = await createKey(limited.key, { name: 'sender', capabilities: ['send'] });
    expect(subset.status).toBe(201);
    const child = subset.body as KeyBody;
    expect((await gateway.request('/api/v1/sessions', { token: child.key })).status).toBe(403);
    // Revoking the owner's all-capability key would let a lesser key lock out its betters.
    const revokeOwner = await gateway.request(`/api/v1/org/api-keys/${orgA.apiKeyId}`, { method: 'DELETE', token: limited.key });
    expect(revokeOwner.status).toBe(403);
    expect((await gateway.request('/api/v1/org', { token: orgA.apiKey })).status).toBe(200);
    expect((await gateway.request(`/api/v1/org/api-keys/${child.id}`, { method: 'DELETE', token: limited.key })).status).toBe(204);
    // A member holds send and read through its role, not keys:manage: it cannot create any key.
    expect((await createKey(await orgA.loginJwt('member'), { name: 'x', capabilities: ['send'] })).status).toBe(403);
  });

  it("hides one organization's keys from another: not listed, not revocable (404)", async () => {
    const keyOfA = await orgA.createApiKey(['read']);
    const listedByB = await gateway.request('/api/v1/org/api-keys?includeRevoked=true', { token: orgB.apiKey });
    expect(JSON.stringify(listedByB.body)).not.toContain(keyOfA.id);
    const revokeByB = await gateway.request(`/api/v1/org/api-keys/${keyOfA.id}`, { method: 'DELETE', token: await orgB.loginJwt('owner') });
    expect(revokeByB.status).toBe(404);
    expect((revokeByB.body as ErrorBody).error.code).toBe('not_found');
    expect((await gateway.request('/api/v1/sessions', { token: keyOfA.key })).status).toBe(200);
    const malformed = await gateway.request(`/api/v1/org/api-keys/not-a-uuid`, { method: 'DELETE', token: orgB.apiKey });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: { code: 'validation_failed', details: { fields: { key: 'must be an API key id (UUID)' } } } });
    expect((await auditLog(orgB)).data.some((entry) => entry.target.id === keyOfA.id)).toBe(false);
  });

  it.each([
    [{ capabilities: ['read'] }, 'name'],
    [{ name: '', capabilities: ['read'] }, 'name'],
    [{ name: 'x'.repeat(101), capabilities: ['read'] }, 'name'],
    [{ name: 'k', capabilities: [] }, 'capabilities'],
    [{ name: 'k', capabilities: ['root'] }, 'capabilities.0'],
    [{ name: 'k', capabilities: ['read', 'read'] }, 'capabilities'],
    [{ name: 'k', capabilities: ['read'], expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ name: 'k', capabilities: ['read'], expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    [{ name: 'k', capabilities: ['read'], admin: true }, '(root)'],
  ])('answers 400 with field details for key %j, creating nothing', async (payload, field) => {
    const before = await gateway.db.apiKey.count({ where: { orgId: orgA.orgId } });
    const response = await createKey(orgA.apiKey, payload);
    expect(response.status).toBe(400);
    expect(Object.keys((response.body as { error: { details: { fields: Record<string, string> } } }).error.details.fields)).toContain(field);
    expect(await gateway.db.apiKey.count({ where: { orgId: orgA.orgId } })).toBe(before);
  });

  it('writes an audit row for each session, webhook, and key action, newest first, paged by cursor', async () => {
    const tenant = await createTestTenant(gateway.db, jwks);
    const token = await tenant.loginJwt('admin');
    const session = (await gateway.request('/api/v1/sessions', json('POST', token, { name: 'audited' }))).body as { id: string };
    await gateway.request(`/api/v1/sessions/${session.id}/start`, { method: 'POST', token });
    await gateway.request(`/api/v1/sessions/${session.id}/stop`, { method: 'POST', token });
    await gateway.request(`/api/v1/sessions/${session.id}/logout`, { method: 'POST', token });
    await gateway.request(`/api/v1/sessions/${session.id}`, { method: 'DELETE', token });
    const webhook = (await gateway.request('/api/v1/webhooks', json('POST', token, { url: 'https://hooks.example.com/a', events: ['message.revoked'] }))).body as { id: string };
    await gateway.request(`/api/v1/webhooks/${webhook.id}`, json('PATCH', token, { description: 'changed' }));
    await gateway.request(`/api/v1/webhooks/${webhook.id}/rotate-secret`, { method: 'POST', token });
    await gateway.request(`/api/v1/webhooks/${webhook.id}`, { method: 'DELETE', token });
    const key = (await createKey(token, { name: 'audited key', capabilities: ['read'] })).body as KeyBody;
    await gateway.request(`/api/v1/org/api-keys/${key.id}`, { method: 'DELETE', token });

    const expected = [
      ['api_key.revoked', 'api_key', key.id],
      ['api_key.created', 'api_key', key.id],
      ['webhook.deleted', 'webhook', webhook.id],
      ['webhook.secret_rotated', 'webhook', webhook.id],
      ['webhook.updated', 'webhook', webhook.id],
      ['webhook.created', 'webhook', webhook.id],
      ['session.deleted', 'session', session.id],
      ['session.logged_out', 'session', session.id],
      ['session.stopped', 'session', session.id],
      ['session.started', 'session', session.id],
      ['session.created', 'session', session.id],
    ];
    const all = await auditLog(tenant);
    expect(all.nextCursor).toBeNull();
    expect(all.data.map((entry) => [entry.action, entry.target.type, entry.target.id])).toEqual(expected);
    expect(all.data.every((entry) => entry.actor.kind === 'user' && entry.actor.id === tenant.userId)).toBe(true);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditBody = await auditLog(tenant, `?limit=4${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.data.length).toBeLessThanOrEqual(4);
      seen.push(...page.data.map((entry) => entry.action));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(expected.map(([action]) => action));
    expect((await gateway.request('/api/v1/org/audit-log?cursor=bm9wZQ', { token: tenant.apiKey })).status).toBe(400);
  });

  it('gives a sessions overview: by status, by worker, and the recently disconnected', async () => {
    const tenant = await createTestTenant(gateway.db, jwks);
    const sessions = new SessionsRepository(gateway.db);
    const make = async (name: string, patch: Parameters<SessionsRepository['update']>[2]) => {
      const session = await sessions.create(tenant.orgId, { name, createdBy: 'u' });
      await sessions.update(tenant.orgId, session.id, patch);
      return session;
    };
    await make('a', { status: 'connected', ownerWorkerId: 'worker-1' });
    await make('b', { status: 'connected', ownerWorkerId: 'worker-1' });
    await make('c', { status: 'qr', ownerWorkerId: 'worker-2' });
    const dropped = await make('d', { status: 'disconnected', ownerWorkerId: 'worker-2', lastError: 'connection lost', lastDisconnectedAt: new Date(Date.now() - 60_000) });
    await make('e', { status: 'stopped', lastDisconnectedAt: new Date(Date.now() - 3 * 86_400_000) });
    const other = await createTestTenant(gateway.db, jwks);
    await sessions.create(other.orgId, { name: 'elsewhere', createdBy: 'u' }).then((session) => sessions.update(other.orgId, session.id, { status: 'connected', ownerWorkerId: 'worker-1' }));

    const response = await gateway.request('/api/v1/org/sessions/overview', { token: await tenant.loginJwt('viewer') });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      byStatus: { stopped: 1, starting: 0, qr: 1, connected: 2, disconnected: 1, logged_out: 0 },
      byWorker: [
        { workerId: 'worker-1', sessions: 2, connected: 2 },
        { workerId: 'worker-2', sessions: 2, connected: 0 },
      ],
      recentlyDisconnected: [{ id: dropped.id, name: 'd', status: 'disconnected', lastError: 'connection lost', lastDisconnectedAt: expect.any(String) }],
      since: expect.any(String),
    });
  });

  it('counts usage per UTC day: messages sent, received and revoked, deliveries by outcome', async () => {
    const tenant = await createTestTenant(gateway.db, jwks);
    const session = await new SessionsRepository(gateway.db).create(tenant.orgId, { name: 'busy', createdBy: 'u' });
    const day = (date: string, hour = 12) => new Date(`${date}T${String(hour).padStart(2, '0')}:00:00.000Z`);
    const message = (fromMe: boolean, createdAt: Date, revokedAt: Date | null = null) => ({
      orgId: tenant.orgId,
      sessionId: session.id,
      waMessageId: randomUUID().replaceAll('-', '').toUpperCase(),
      chatJid: '15550001111@s.whatsapp.net',
      fromMe,
      messageType: 'conversation',
      timestamp: BigInt(Math.floor(createdAt.getTime() / 1000)),
      raw: {},
      createdAt,
      revokedAt,
    });
    await gateway.db.storedMessage.createMany({
      data: [
        message(true, day('2026-03-01', 0)),
        message(true, day('2026-03-01', 23), day('2026-03-03')),
        message(false, day('2026-03-01')),
        message(false, day('2026-03-02'), day('2026-03-02', 13)),
        // Outside the range on either side.
        message(true, day('2026-02-28', 23)),
        message(true, day('2026-03-04', 0)),
      ],
    });
    const endpoint = await new WebhookEndpointsRepository(gateway.db).create(tenant.orgId, { url: 'https://hooks.example.com/u', events: ['webhook.test'], sessionIds: [], description: null, secretCiphertext: 'x' });
    const events = new DomainEventsRepository(gateway.db);
    const outcomes = ['delivered', 'delivered', 'failed', 'exhausted', 'pending'] as const;
    for (const status of outcomes) {
      const { deliveryId } = await events.createTestDelivery(tenant.orgId, endpoint.id, 'webhook.test', () => ({}));
      await gateway.db.webhookDelivery.update({ where: { id: deliveryId }, data: { status, createdAt: day('2026-03-02') } });
    }

    const response = await gateway.request('/api/v1/org/usage?from=2026-03-01&to=2026-03-03', { token: await tenant.loginJwt('viewer') });
    expect(response.status).toBe(200);
    const zero = { messagesSent: 0, messagesReceived: 0, messagesRevoked: 0, deliveriesDelivered: 0, deliveriesFailed: 0, deliveriesExhausted: 0 };
    expect(response.body).toEqual({
      from: '2026-03-01',
      to: '2026-03-03',
      data: [
        { ...zero, date: '2026-03-01', messagesSent: 2, messagesReceived: 1 },
        { ...zero, date: '2026-03-02', messagesReceived: 1, messagesRevoked: 1, deliveriesDelivered: 2, deliveriesFailed: 1, deliveriesExhausted: 1 },
        { ...zero, date: '2026-03-03', messagesRevoked: 1 },
      ],
    });
    // Another organization sees none of it.
    const other = await gateway.request('/api/v1/org/usage?from=2026-03-01&to=2026-03-03', { token: orgB.apiKey });
    expect((other.body as { data: Array<typeof zero> }).data.every((entry) => Object.values({ ...entry, date: 0 }).every((value) => value === 0))).toBe(true);
    // The default is the last 30 days, ending today.
    const recent = (await gateway.request('/api/v1/org/usage', { token: tenant.apiKey })).body as { from: string; to: string; data: unknown[] };
    expect(recent.to).toBe(new Date().toISOString().slice(0, 10));
    expect(recent.data).toHaveLength(30);
  });

  it.each([
    ['?from=2026-03-05&to=2026-03-01', 'from'],
    ['?from=2024-01-01&to=2026-03-01', 'from'],
    ['?from=yesterday', 'from'],
    ['?to=2026-02-30', 'to'],
    ['?from=2026-03-01&granularity=hour', '(root)'],
  ])('rejects the usage query %s with 400 naming the field', async (query, field) => {
    const response = await gateway.request(`/api/v1/org/usage${query}`, { token: orgA.apiKey });
    expect(response.status).toBe(400);
    expect(Object.keys((response.body as { error: { details: { fields: Record<string, string> } } }).error.details.fields)).toEqual([field]);
  });
});
