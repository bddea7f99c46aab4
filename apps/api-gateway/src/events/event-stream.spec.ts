import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildSessionStatusWebhook } from '@wagw/contracts';
import { createDbClient, SessionsRepository, type DbClient, type SessionFence } from '@wagw/db';
import { createIsolatedRedisUrl, createTestTenant, openEventStream, startGatewayProcess, type GatewayProcess, type TestTenant } from '@wagw/testing';

const STREAMS_PER_ORG = 3;

/**
 * `GET /api/v1/events` on two gateway processes (the built entry point) over one database. Events are
 * written as a session worker writes them: a status change and its `session.status` event, fenced on
 * the owner's epoch, in one statement.
 */
describe('the event stream (SSE) on two gateway replicas', { timeout: 60_000 }, () => {
  const gateways: GatewayProcess[] = [];
  let db: DbClient;
  let sessions: SessionsRepository;

  beforeAll(async () => {
    db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
    sessions = new SessionsRepository(db);
    const redisUrl = await createIsolatedRedisUrl();
    for (let replica = 0; replica < 2; replica++) {
      gateways.push(await startGatewayProcess({ databaseUrl: inject('databaseUrl'), redisUrl }, { EVENT_STREAMS_PER_ORG: String(STREAMS_PER_ORG) }));
    }
  });
  afterAll(async () => {
    for (const gateway of gateways) gateway.child.kill('SIGTERM');
    await Promise.all(gateways.map((gateway) => gateway.exited));
    await db.$disconnect();
  });

  const streamUrl = (gateway: number, query = '') => `${gateways[gateway]?.url}/api/v1/events${query}`;

  /** A session of the tenant, owned by a worker at epoch 1. */
  async function ownedSession(tenant: TestTenant): Promise<SessionFence> {
    const session = await sessions.create(tenant.orgId, { name: `s-${randomUUID().slice(0, 8)}`, createdBy: tenant.userId });
    const fence = { orgId: tenant.orgId, sessionId: session.id, epoch: 1 };
    expect(await sessions.claimAsOwner(fence, 'worker-test', { status: 'starting' }, null)).toBe(true);
    return fence;
  }

  /** What a worker writes when the session's status changes; returns the event id. */
  async function statusChange(fence: SessionFence, status: 'connected' | 'disconnected'): Promise<string> {
    const eventId = randomUUID();
    const session = { id: fence.sessionId, createdBy: 'u', metadata: {}, meJid: '', mePushName: '' };
    const event = { id: eventId, type: 'session.status', payload: buildSessionStatusWebhook({ eventId, session, status, lastError: null }) };
    expect(await sessions.updateAsOwner(fence, { status }, event)).toBe(true);
    return eventId;
  }

  it('both replicas deliver each event a worker writes, in commit order, and only to its organization', async () => {
    const tenant = await createTestTenant(db);
    const other = await createTestTenant(db);
    const fence = await ownedSession(tenant);
    const otherFence = await ownedSession(other);
    const onA = await openEventStream(streamUrl(0), tenant.apiKey);
    const onB = await openEventStream(streamUrl(1), tenant.apiKey);
    const otherOnB = await openEventStream(streamUrl(1), other.apiKey);
    try {
      expect([onA.status, onB.status, otherOnB.status]).toEqual([200, 200, 200]);
      const ids = [await statusChange(fence, 'connected'), await statusChange(fence, 'disconnected'), await statusChange(fence, 'connected')];
      for (const stream of [onA, onB]) {
        const events = await stream.waitFor(3);
        expect(events.map((event) => event.id)).toEqual(ids);
        expect(events.map((event) => event.type)).toEqual(['session.status', 'session.status', 'session.status']);
        expect(events[1]?.data).toMatchObject({ event: 'session.status', data: { id: ids[1], payload: { status: 'disconnected' }, instanceId: fence.sessionId } });
      }
      const theirs = await statusChange(otherFence, 'connected');
      expect((await otherOnB.waitFor(1)).map((event) => event.id)).toEqual([theirs]);
      await new Promise((wait) => setTimeout(wait, 600));
      expect(onA.received).toHaveLength(3);
      expect(onB.received).toHaveLength(3);
      expect(otherOnB.received).toHaveLength(1);
    } finally {
      for (const stream of [onA, onB, otherOnB]) stream.close();
    }
  });

  it('a client reconnecting with Last-Event-ID receives exactly the events it missed, then the live ones', async () => {
    const tenant = await createTestTenant(db);
    const fence = await ownedSession(tenant);
    const first = await openEventStream(streamUrl(0), tenant.apiKey);
    const seen = await statusChange(fence, 'connected');
    expect((await first.waitFor(1)).map((event) => event.id)).toEqual([seen]);
    first.close();

    const missed = [await statusChange(fence, 'disconnected'), await statusChange(fence, 'connected')];
    // Resumed on the other replica, as a load balancer may send it.
    const resumed = await openEventStream(streamUrl(1), tenant.apiKey, seen);
    try {
      expect((await resumed.waitFor(2)).map((event) => event.id)).toEqual(missed);
      const live = await statusChange(fence, 'disconnected');
      expect((await resumed.waitFor(3)).map((event) => event.id)).toEqual([...missed, live]);
      await new Promise((wait) => setTimeout(wait, 600));
      expect(resumed.received).toHaveLength(3);
    } finally {
      resumed.close();
    }
  });

  it('filters by event type and by session', async () => {
    const tenant = await createTestTenant(db);
    const [one, two] = [await ownedSession(tenant), await ownedSession(tenant)];
    const revokedOnly = await openEventStream(streamUrl(0, '?types=message.revoked'), tenant.apiKey);
    const sessionTwo = await openEventStream(streamUrl(0, `?types=session.status&sessions=${two.sessionId}`), tenant.apiKey);
    try {
      await statusChange(one, 'connected');
      const wanted = await statusChange(two, 'connected');
      expect((await sessionTwo.waitFor(1)).map((event) => event.id)).toEqual([wanted]);
      await new Promise((wait) => setTimeout(wait, 600));
      expect(sessionTwo.received).toHaveLength(1);
      expect(revokedOnly.received).toHaveLength(0);
    } finally {
      revokedOnly.close();
      sessionTwo.close();
    }
  });

  it('answers bad requests in the envelope: unknown or foreign Last-Event-ID, bad filters, no capability, no token', async () => {
    const tenant = await createTestTenant(db);
    const other = await createTestTenant(db);
    const theirEvent = await statusChange(await ownedSession(other), 'connected');
    const cases: Array<[Awaited<ReturnType<typeof openEventStream>>, number, string]> = [
      [await openEventStream(streamUrl(0), tenant.apiKey, randomUUID()), 404, 'not_found'],
      [await openEventStream(streamUrl(0), tenant.apiKey, theirEvent), 404, 'not_found'],
      [await openEventStream(streamUrl(0), tenant.apiKey, 'not-an-id'), 400, 'validation_failed'],
      [await openEventStream(streamUrl(0, '?types=message.bogus'), tenant.apiKey), 400, 'validation_failed'],
      [await openEventStream(streamUrl(0, '?sessions=nope'), tenant.apiKey), 400, 'validation_failed'],
      [await openEventStream(streamUrl(0, '?since=1'), tenant.apiKey), 400, 'validation_failed'],
      [await openEventStream(streamUrl(0), (await tenant.createApiKey(['send'])).key), 403, 'forbidden'],
      [await openEventStream(streamUrl(0), 'wagw_nope_nope'), 401, 'unauthorized'],
    ];
    for (const [stream, status, code] of cases) {
      expect(stream.status).toBe(status);
      expect(stream.body).toMatchObject({ error: { code } });
    }
  });

  it(`serves at most ${STREAMS_PER_ORG} streams of one organization per replica, and frees a slot when one closes`, async () => {
    const tenant = await createTestTenant(db);
    const open = [];
    for (let i = 0; i < STREAMS_PER_ORG; i++) open.push(await openEventStream(streamUrl(0), tenant.apiKey));
    expect(open.map((stream) => stream.status)).toEqual(Array(STREAMS_PER_ORG).fill(200));
    const refused = await openEventStream(streamUrl(0), tenant.apiKey);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'rate_limited', details: { limit: STREAMS_PER_ORG } } });
    // The other replica, and another organization, are not affected.
    const elsewhere = await openEventStream(streamUrl(1), tenant.apiKey);
    expect(elsewhere.status).toBe(200);
    elsewhere.close();
    open.pop()?.close();
    let reopened = await openEventStream(streamUrl(0), tenant.apiKey);
    for (let attempt = 0; reopened.status !== 200 && attempt < 20; attempt++) {
      await new Promise((wait) => setTimeout(wait, 100));
      reopened = await openEventStream(streamUrl(0), tenant.apiKey);
    }
    expect(reopened.status).toBe(200);
    reopened.close();
    for (const stream of open) stream.close();
  });

  it('a stopping gateway ends its streams, and the connections clients left unused, instead of waiting on them', async () => {
    const tenant = await createTestTenant(db);
    const stream = await openEventStream(streamUrl(1), tenant.apiKey);
    expect(stream.status).toBe(200);
    const stopping = gateways[1]!;
    // A connection that never carries a request, as clients open spares (undici does after an aborted
    // stream): Node's own idle sweep would leave the shutdown waiting on it.
    const spare = connect(Number(new URL(stopping.url).port), '127.0.0.1');
    await new Promise((connected) => spare.once('connect', connected));
    spare.on('error', () => undefined);
    const started = Date.now();
    stopping.child.kill('SIGTERM');
    await stopping.exited;
    expect(Date.now() - started).toBeLessThan(5_000);
    spare.destroy();
    gateways.splice(1, 1);
  });
});
