import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsRepository } from '@wagw/db';
import { createTestTenant, startTestJwks, type TestJwks, type TestTenant } from '@wagw/testing';
import { gatewayForSuite, startTestGateway, type TestGateway } from '../test/gateway-harness.js';

interface SessionsPage {
  data: Array<{ id: string; name: string; status: string; createdBy: string; metadata: Record<string, string> }>;
  nextCursor: string | null;
}

describe('GET /api/v1/sessions', () => {
  let jwks: TestJwks;
  let gateway: TestGateway;
  let orgA: TestTenant;
  let orgB: TestTenant;
  let sessions: SessionsRepository;

  beforeAll(async () => {
    jwks = await startTestJwks();
    gateway = await startTestGateway({ jwks });
    orgA = await createTestTenant(gateway.db, jwks);
    orgB = await createTestTenant(gateway.db, jwks);
    sessions = new SessionsRepository(gateway.db);
  });

  afterAll(async () => {
    await gateway.close();
    await jwks.close();
  });

  it('lists an empty organization as an empty page', async () => {
    const fresh = await createTestTenant(gateway.db, jwks);
    const response = await gateway.request('/api/v1/sessions', { token: fresh.apiKey });
    expect(response).toMatchObject({ status: 200, body: { data: [], nextCursor: null } });
  });

  it("shows an organization its own sessions and never another's", async () => {
    const mine = await sessions.create(orgA.orgId, { name: 'sales', createdBy: orgA.userId, metadata: { team: 'emea' } });
    await sessions.create(orgB.orgId, { name: 'support', createdBy: orgB.userId });

    const forA = await gateway.request('/api/v1/sessions', { token: orgA.apiKey });
    const forB = await gateway.request('/api/v1/sessions', { token: await orgB.loginJwt('viewer') });

    expect(forA.status).toBe(200);
    expect((forA.body as SessionsPage).data).toEqual([
      expect.objectContaining({ id: mine.id, name: 'sales', status: 'stopped', createdBy: orgA.userId, metadata: { team: 'emea' }, me: null, worker: null }),
    ]);
    expect((forB.body as SessionsPage).data.map((session) => session.name)).toEqual(['support']);
  });

  it("cannot reach another organization's session even by id", async () => {
    const foreign = await sessions.create(orgB.orgId, { name: 'hidden', createdBy: orgB.userId });
    expect(await sessions.findById(orgA.orgId, foreign.id)).toBeNull();
    expect(await sessions.findById(orgB.orgId, foreign.id)).not.toBeNull();
  });

  it('answers 403 forbidden to a key without the read capability', async () => {
    const sendOnly = await orgA.createApiKey(['send']);
    const response = await gateway.request('/api/v1/sessions', { token: sendOnly.key });
    expect(response).toEqual({
      status: 403,
      headers: expect.anything(),
      body: { error: { code: 'forbidden', message: "this action needs the 'read' capability", details: { required: 'read' } } },
    });
  });

  it('lets every role read (viewer is the least)', async () => {
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      expect((await gateway.request('/api/v1/sessions', { token: await orgA.loginJwt(role) })).status).toBe(200);
    }
  });

  it('pages with an opaque cursor, without gaps or repeats', async () => {
    const tenant = await createTestTenant(gateway.db, jwks);
    const created = [];
    for (let index = 0; index < 5; index += 1) {
      created.push((await sessions.create(tenant.orgId, { name: `s${index}`, createdBy: tenant.userId })).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
      const page = (await gateway.request(`/api/v1/sessions${query}`, { token: tenant.apiKey })).body as SessionsPage;
      seen.push(...page.data.map((session) => session.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(created);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=abc', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    ['unknown=1', '(root)'],
  ])('answers 400 validation_failed for ?%s', async (query, field) => {
    const response = await gateway.request(`/api/v1/sessions?${query}`, { token: orgA.apiKey });
    expect(response.status).toBe(400);
    const body = response.body as { error: { code: string; details: { fields: Record<string, string> } } };
    expect(body.error.code).toBe('validation_failed');
    expect(Object.keys(body.error.details.fields)).toContain(field);
  });

  it('answers unknown routes with the envelope', async () => {
    const response = await gateway.request('/api/v1/nope', { token: orgA.apiKey });
    expect(response).toMatchObject({ status: 404, body: { error: { code: 'not_found', details: {} } } });
  });
});

// No worker runs here: the gateway itself changes the status of a session nobody runs, and each change
// has exactly one session.status event, written with it.
describe('session status changes through the API, with no worker', () => {
  const suite = gatewayForSuite();

  const post = (path: string) => suite.gateway.request(path, { method: 'POST', token: suite.tenant.apiKey });
  const statusEvents = async (sessionId: string) =>
    (await suite.gateway.db.domainEvent.findMany({ where: { orgId: suite.tenant.orgId, sessionId, type: 'session.status' }, orderBy: { createdAt: 'asc' } })).map((event) => (event.payload as { data: { payload: { status: string } } }).data.payload.status);

  it('start, stop and logout each write their status with exactly one event, and none when nothing changes', async () => {
    const created = await suite.gateway.request('/api/v1/sessions', { method: 'POST', token: suite.tenant.apiKey, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'lifecycle' }) });
    const id = (created.body as { id: string }).id;
    expect(await statusEvents(id)).toEqual([]);

    expect((await post(`/api/v1/sessions/${id}/start`)).body).toMatchObject({ status: 'starting' });
    expect(await statusEvents(id)).toEqual(['starting']);
    await post(`/api/v1/sessions/${id}/start`);
    expect(await statusEvents(id)).toEqual(['starting']);

    expect((await post(`/api/v1/sessions/${id}/stop`)).body).toMatchObject({ status: 'stopped' });
    expect(await statusEvents(id)).toEqual(['starting', 'stopped']);
    await post(`/api/v1/sessions/${id}/stop`);
    expect(await statusEvents(id)).toEqual(['starting', 'stopped']);

    expect((await post(`/api/v1/sessions/${id}/logout`)).body).toMatchObject({ status: 'logged_out' });
    expect(await statusEvents(id)).toEqual(['starting', 'stopped', 'logged_out']);
    await post(`/api/v1/sessions/${id}/logout`);
    expect(await statusEvents(id)).toEqual(['starting', 'stopped', 'logged_out']);
  });
});
