import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@wagw/contracts';
import { createRedisConnection } from '@wagw/queue';
import type { TestTenant } from '@wagw/testing';
import { REPLACED_RETRY_MIN_MS } from '@wagw/whatsapp';
import { E2eSystem } from './harness.js';

describe('session lifecycle and messages, end to end', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const phone = '15556000001';
  const peer = '15556000002';
  let tenant: TestTenant;
  let sessionId: string;

  beforeAll(async () => {
    await system.start();
    system.emulator.createAccount({ phone });
    system.emulator.createAccount({ phone: peer, pushName: 'Peer' });
    tenant = await system.tenant();
  }, 60_000);

  afterAll(async () => {
    await system.stop();
  });

  const session = async (): Promise<Record<string, unknown>> => (await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey })).body;

  it('creates a stopped session; no QR until it runs; names are unique per organization', async () => {
    const created = await system.api('/api/v1/sessions', { method: 'POST', token: tenant.apiKey, body: { name: 'support', metadata: { team: 'eu' } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'stopped', metadata: { team: 'eu' }, me: null, worker: null });
    sessionId = created.body['id'] as string;
    expect((await system.api(`/api/v1/sessions/${sessionId}/qr`, { token: tenant.apiKey })).body).toMatchObject({ error: { code: 'conflict' } });
    expect((await system.api('/api/v1/sessions', { method: 'POST', token: tenant.apiKey, body: { name: 'support' } })).status).toBe(409);
  });

  it('links by pairing code instead of QR', async () => {
    await system.api(`/api/v1/sessions/${sessionId}/start`, { method: 'POST', token: tenant.apiKey });
    await system.waitFor(async () => (await session())['status'] === 'qr' || undefined, 'waiting to be linked');
    const code = await system.api(`/api/v1/sessions/${sessionId}/pairing-code`, { method: 'POST', token: tenant.apiKey, body: { phone } });
    expect(code.status).toBe(200);
    expect(code.body['pairingCode']).toMatch(/^[A-Z0-9]{8}$/);
    await system.emulator.enterPairingCode(phone, code.body['pairingCode'] as string);
    await system.waitFor(async () => (await session())['status'] === 'connected' || undefined, 'connected');
    expect(await session()).toMatchObject({ me: { id: `${phone}@s.whatsapp.net` } });
  });

  it('sends asynchronously with Prefer: respond-async (202), the outcome readable by outboxId', async () => {
    const queued = await system.api(`/api/v1/sessions/${sessionId}/messages`, {
      method: 'POST',
      token: tenant.apiKey,
      body: { chat: `${peer}@s.whatsapp.net`, text: 'queued hello' },
      headers: { prefer: 'respond-async' },
    });
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ mode: 'async', status: 'queued', replayed: false, waMessageId: expect.stringMatching(/^3EB0/) });
    await system.waitFor(async () => system.emulator.received(peer).some((message) => message.id === queued.body['waMessageId']) || undefined, 'the queued message at the peer');
    const operation = await system.waitFor(async () => {
      const read = await system.api(`/api/v1/operations/${queued.body['outboxId'] as string}`, { token: tenant.apiKey });
      return read.body['status'] === 'sent' ? read.body : undefined;
    }, 'the operation to finish');
    expect(operation).toMatchObject({ kind: 'send', result: { status: 'sent', waMessageId: queued.body['waMessageId'] } });
  });

  it('lists sent and received messages from our store', async () => {
    const inbound = await system.emulator.peerSendText({ from: peer, to: phone, text: 'hi back' });
    const list = await system.waitFor(async () => {
      const page = await system.api(`/api/v1/sessions/${sessionId}/messages?chat=${peer}@s.whatsapp.net`, { token: tenant.apiKey });
      const data = page.body['data'] as Array<{ id: string }>;
      return data.some((message) => message.id === inbound) ? data : undefined;
    }, 'the inbound message in the list');
    expect(list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: inbound, fromMe: false, text: 'hi back', chat: `${peer}@s.whatsapp.net` }),
        expect.objectContaining({ fromMe: true, text: 'queued hello' }),
      ]),
    );
  });

  it('still places a session when the least-loaded worker never claims it', async () => {
    // A worker that heartbeats with no load but never takes anything (stuck, misconfigured).
    const redis = createRedisConnection(system.redisConnectionUrl, 'e2e-ghost-worker');
    await redis.multi().set(redisKeys.worker('ghost'), JSON.stringify({ load: 0, at: Date.now() }), 'PX', 60_000).zadd(redisKeys.workers, String(Date.now()), 'ghost').exec();
    const created = await system.api('/api/v1/sessions', { method: 'POST', token: tenant.apiKey, body: { name: 'second', start: true } });
    const second = created.body['id'] as string;
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${second}`, { token: tenant.apiKey })).body['status'] === 'qr' || undefined, 'the second session placed', 15_000);
    expect((await system.api(`/api/v1/sessions/${second}`, { token: tenant.apiKey })).body['worker']).toMatchObject({ id: 'worker-a' });
    await redis.multi().del(redisKeys.worker('ghost')).zrem(redisKeys.workers, 'ghost').exec();
    redis.disconnect();
    await system.api(`/api/v1/sessions/${second}`, { method: 'DELETE', token: tenant.apiKey });
  });

  it('reconnects by itself after the socket drops', async () => {
    const deviceId = system.emulator.linkedDevices(phone)[0]?.deviceId ?? -1;
    const before = (await session())['lastConnectedAt'] as string;
    system.emulator.dropSocket(phone, deviceId);
    await system.waitFor(async () => {
      const now = await session();
      return now['status'] === 'connected' && now['lastConnectedAt'] !== before && system.emulator.liveSocketCount(phone, deviceId) === 1 || undefined;
    }, 'reconnected');
    expect((await session())['lastDisconnectedAt']).toEqual(expect.any(String));
  });

  it('when another connection replaces it (440): does not fight back at once, stays wanted, and comes back by itself after a pause', async () => {
    const deviceId = system.emulator.linkedDevices(phone)[0]?.deviceId ?? -1;
    system.emulator.replaceConnection(phone, deviceId);
    const replacedAt = Date.now();
    await system.waitFor(async () => String((await session())['lastError']).startsWith('replaced by another connection; reconnecting in') || undefined, 'marked replaced');
    expect(await session()).toMatchObject({ status: 'disconnected' });
    // Losing the socket is not the session's end: it still should run.
    expect((await system.db.whatsAppSession.findUniqueOrThrow({ where: { id: sessionId } })).shouldRun).toBe(true);
    await new Promise((resolveWait) => setTimeout(resolveWait, 1_500));
    expect(system.emulator.liveSocketCount(phone, deviceId)).toBe(0);
    await system.waitFor(async () => (await session())['status'] === 'connected' || undefined, 'connected again by itself', 25_000);
    expect(Date.now() - replacedAt).toBeGreaterThanOrEqual(REPLACED_RETRY_MIN_MS);
    expect(system.emulator.liveSocketCount(phone, deviceId)).toBe(1);
  });

  const statusEventsOf = async (id: string): Promise<string[]> =>
    (await system.db.domainEvent.findMany({ where: { orgId: tenant.orgId, sessionId: id, type: 'session.status' }, orderBy: { createdAt: 'asc' } })).map((event) => (event.payload as { data: { payload: { status: string } } }).data.payload.status);
  const statusEvents = (): Promise<string[]> => statusEventsOf(sessionId);

  it('a stop through the API is written by the worker with exactly one session.status, and so is the start after it', async () => {
    const before = (await statusEvents()).length;
    await system.api(`/api/v1/sessions/${sessionId}/stop`, { method: 'POST', token: tenant.apiKey });
    await system.waitFor(async () => (await session())['status'] === 'stopped' || undefined, 'stopped');
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    expect((await statusEvents()).slice(before)).toEqual(['stopped']);
    await system.api(`/api/v1/sessions/${sessionId}/start`, { method: 'POST', token: tenant.apiKey });
    await system.waitFor(async () => (await session())['status'] === 'connected' || undefined, 'connected again');
    expect((await statusEvents()).slice(before)).toEqual(['stopped', 'starting', 'connected']);
  });

  it('logs out (the device is unlinked, the login wiped) and deletes the session', async () => {
    const deviceId = system.emulator.linkedDevices(phone)[0]?.deviceId ?? -1;
    const eventsBefore = (await statusEvents()).length;
    const loggedOut = await system.api(`/api/v1/sessions/${sessionId}/logout`, { method: 'POST', token: tenant.apiKey });
    expect(loggedOut.status).toBe(200);
    await system.waitFor(async () => (await session())['status'] === 'logged_out' || undefined, 'logged_out');
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    expect((await statusEvents()).slice(eventsBefore)).toEqual(['logged_out']);
    expect(system.emulator.linkedDevices(phone).find((device) => device.deviceId === deviceId)?.loggedOut).toBe(true);
    expect(await system.db.authCreds.count({ where: { sessionId } })).toBe(0);

    expect((await system.api(`/api/v1/sessions/${sessionId}`, { method: 'DELETE', token: tenant.apiKey })).status).toBe(204);
    expect((await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey })).status).toBe(404);
    const audit = await system.db.auditLogEntry.findMany({ where: { orgId: tenant.orgId, targetId: sessionId }, orderBy: { createdAt: 'asc' } });
    expect(audit.every((entry) => entry.actorId === tenant.apiKeyId && entry.actorKind === 'api_key')).toBe(true);
    expect(audit.map((entry) => entry.action)).toEqual(['session.created', 'session.started', 'session.stopped', 'session.started', 'session.logged_out', 'session.deleted']);
  });

  it('deleting a connected session unlinks its device with exactly one session.status, and deleting a stopped one ends it with one too', async () => {
    const linkedPhone = '15556000003';
    system.emulator.createAccount({ phone: linkedPhone });
    const connected = await system.connectedSession(tenant, linkedPhone, 'to-delete-connected');
    const before = (await statusEventsOf(connected)).length;
    expect((await system.api(`/api/v1/sessions/${connected}`, { method: 'DELETE', token: tenant.apiKey })).status).toBe(204);
    // A late write of the worker's (its runner stopping) finds no row and must not add an event.
    await new Promise((resolveWait) => setTimeout(resolveWait, 1_000));
    expect((await statusEventsOf(connected)).slice(before)).toEqual(['logged_out']);
    expect(system.emulator.linkedDevices(linkedPhone).every((device) => device.loggedOut)).toBe(true);

    const stopped = (await system.api('/api/v1/sessions', { method: 'POST', token: tenant.apiKey, body: { name: 'to-delete-stopped' } })).body['id'] as string;
    expect((await system.api(`/api/v1/sessions/${stopped}`, { method: 'DELETE', token: tenant.apiKey })).status).toBe(204);
    expect(await statusEventsOf(stopped)).toEqual(['logged_out']);
    expect((await system.api(`/api/v1/sessions/${stopped}`, { token: tenant.apiKey })).status).toBe(404);
  });
});
