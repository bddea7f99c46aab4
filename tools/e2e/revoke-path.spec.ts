import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proto } from '@whiskeysockets/baileys';
import type { TestTenant } from '@wagw/testing';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { messageRevokedWebhookSchema } from '@wagw/contracts';
import { E2eSystem } from './harness.js';

const validateRevoked = new Ajv2020({ strict: false }).compile(messageRevokedWebhookSchema);

describe('sessions and the revoke path, end to end (real processes, Postgres, Redis, emulator)', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  let tenant: TestTenant;
  const phone = '15552000001';
  const peer = '15552000002';
  let sessionId: string;

  beforeAll(async () => {
    await system.start();
    system.emulator.createAccount({ phone, pushName: 'Gateway Phone' });
    system.emulator.createAccount({ phone: peer, pushName: 'Peer' });
    tenant = await system.tenant();
  }, 60_000);

  afterAll(async () => {
    await system.stop();
  });

  it('creates a session, shows its QR, and connects once the phone scans it', async () => {
    sessionId = await system.connectedSession(tenant, phone);
    const session = await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey });
    expect(session.body).toMatchObject({ status: 'connected', me: { id: `${phone}@s.whatsapp.net` }, worker: { id: 'worker-a' }, createdBy: expect.any(String) });
  });

  it('sends a text the peer decrypts, with a complete SendResult', async () => {
    const sent = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'hello from the API' } });
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ mode: 'sync', outboxId: expect.stringMatching(/^[0-9a-f-]{36}$/), replayed: false, status: 'sent', timestamp: expect.any(Number), waMessageId: expect.stringMatching(/^3EB0/) });
    expect(Math.abs((sent.body['timestamp'] as number) - Date.now() / 1000)).toBeLessThan(60);
    const received = await system.waitFor(async () => system.emulator.received(peer).find((message) => message.id === sent.body['waMessageId']), 'the peer to get it');
    expect(received.message.extendedTextMessage?.text ?? received.message.conversation).toBe('hello from the API');
  });

  it('revokes it (200 SendResult), the peer gets one REVOKE, the message is marked revoked, and a replay acts no more', async () => {
    const sent = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'to be deleted' } });
    const mid = sent.body['waMessageId'] as string;
    const revokes = () => system.emulator.received(peer).filter((message) => message.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.REVOKE && message.message.protocolMessage.key?.id === mid);

    const revoke = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'DELETE', token: tenant.apiKey, body: {}, headers: { 'idempotency-key': `revoke-${mid}` } });
    expect(revoke.status).toBe(200);
    expect(revoke.body).toEqual({ mode: 'sync', outboxId: expect.any(String), replayed: false, status: 'sent', timestamp: expect.any(Number), waMessageId: expect.any(String) });
    expect(revoke.body['waMessageId']).not.toBe(mid);
    await system.waitFor(async () => revokes().length === 1 || undefined, 'the REVOKE at the peer');
    expect(revokes()[0]?.edit).toBe('7');

    const stored = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { token: tenant.apiKey });
    expect(stored.body).toMatchObject({ id: mid, fromMe: true, revokedAt: expect.any(String), text: null });

    const again = await system.api(`/api/v1/sessions/${sessionId}/messages/${mid}`, { method: 'DELETE', token: tenant.apiKey, body: {}, headers: { 'idempotency-key': `revoke-${mid}` } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...revoke.body, replayed: true });
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    expect(revokes()).toHaveLength(1);

    // Metrics: the gateway timed the revoke and the replay; the worker shows its connected session,
    // the lease it acquired, and its (empty) command queue.
    expect(await system.metric(system.gateway, 'wagw_command_duration_seconds_count', { kind: 'revoke', outcome: 'sent' })).toBeGreaterThanOrEqual(1);
    expect(await system.metric(system.gateway, 'wagw_command_duration_seconds_count', { kind: 'revoke', outcome: 'replayed' })).toBeGreaterThanOrEqual(1);
    expect(await system.metric(system.gateway, 'http_request_duration_seconds_count', { app: 'api-gateway', route: '/api/v1/sessions/:session/messages/:mid', method: 'DELETE', status_code: '200' })).toBeGreaterThanOrEqual(2);
    const worker = system.workers.get('worker-a');
    if (!worker) throw new Error('worker-a is not running');
    expect(await system.metric(worker, 'wagw_sessions', { app: 'session-worker', status: 'connected' })).toBeGreaterThanOrEqual(1);
    expect(await system.metric(worker, 'wagw_lease_transitions_total', { transition: 'acquired' })).toBeGreaterThanOrEqual(1);
    expect(await system.metric(worker, 'wagw_command_queue_depth', { worker: 'worker-a', state: 'waiting' })).toBe(0);

    // The dashboard's audit log names who revoked it, once, though the replay answered too.
    const audit = await system.api('/api/v1/org/audit-log', { token: tenant.apiKey });
    const revokedEntries = (audit.body['data'] as Array<{ action: string; target: { id: string }; actor: unknown; details: unknown }>).filter((entry) => entry.action === 'message.revoked' && entry.target.id === mid);
    expect(revokedEntries).toEqual([expect.objectContaining({ actor: { kind: 'api_key', id: tenant.apiKeyId }, details: { session: sessionId, outboxId: revoke.body['outboxId'] } })]);

    // The same key for another message is a different request.
    const other = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'another' } });
    // One message.revoked event, valid against the seed's schema.
    const events = await system.db.domainEvent.findMany({ where: { orgId: tenant.orgId, type: 'message.revoked' } });
    const ours = events.filter((event) => (event.payload as { data: { payload: { before: { id?: string } } } }).data.payload.before.id === mid);
    expect(ours).toHaveLength(1);
    expect(validateRevoked(ours[0]?.payload), JSON.stringify(validateRevoked.errors)).toBe(true);
    expect(ours[0]?.payload).toMatchObject({
      data: {
        id: ours[0]?.id,
        instanceId: sessionId,
        me: { id: `${phone}@s.whatsapp.net` },
        payload: { before: { body: 'to be deleted', fromMe: true }, after: { id: revoke.body['waMessageId'], fromMe: true } },
      },
    });

    const reused = await system.api(`/api/v1/sessions/${sessionId}/messages/${other.body['waMessageId'] as string}`, { method: 'DELETE', token: tenant.apiKey, body: {}, headers: { 'idempotency-key': `revoke-${mid}` } });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });
  });

  it('reconnects from stored creds after a worker restart, without a new QR', async () => {
    const linkedBefore = system.emulator.linkedDevices(phone).length;
    const worker = system.workers.get('worker-a');
    if (!worker) throw new Error('no worker');
    expect(await system.stopApp(worker)).toBe(0);
    await system.startWorker('worker-a');
    await system.waitFor(async () => {
      const session = await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey });
      return session.body['status'] === 'connected' && (session.body['worker'] as { epoch: number } | null)?.epoch !== undefined || undefined;
    }, 'connected again');
    expect(system.emulator.linkedDevices(phone)).toHaveLength(linkedBefore);
    const sent = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'after restart' } });
    expect(sent.status).toBe(200);
  });

  it('quotes a stored message when replying (replyTo), and refuses an unknown one before writing anything', async () => {
    const original = await system.emulator.peerSendText({ from: peer, to: phone, text: 'question?' });
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${sessionId}/messages/${original}`, { token: tenant.apiKey })).status === 200 || undefined, 'the question in our store');
    const reply = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'answer', replyTo: original } });
    expect(reply.status).toBe(200);
    const got = await system.waitFor(async () => system.emulator.received(peer).find((message) => message.id === reply.body['waMessageId']), 'the reply at the peer');
    expect(got.message.extendedTextMessage?.contextInfo?.stanzaId).toBe(original);
    const before = await system.db.outboxOperation.count();
    const unknown = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'x', replyTo: '3EB0FFFFFFFFFFFFFFFFFF' } });
    expect(unknown.status).toBe(404);
    expect(await system.db.outboxOperation.count()).toBe(before);
  });

  it("records a peer's revoke of a message we received as message.revoked, before from our store", async () => {
    const original = await system.emulator.peerSendText({ from: peer, to: phone, text: 'regret this' });
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${sessionId}/messages/${original}`, { token: tenant.apiKey })).status === 200 || undefined, 'the original stored');
    await system.emulator.peerRevoke({ from: peer, to: phone, messageId: original });
    const event = await system.waitFor(
      async () =>
        (await system.db.domainEvent.findMany({ where: { orgId: tenant.orgId, type: 'message.revoked' } })).find(
          (candidate) => (candidate.payload as { data: { payload: { before: { id?: string } } } }).data.payload.before.id === original,
        ),
      'the message.revoked event',
    );
    expect(validateRevoked(event.payload), JSON.stringify(validateRevoked.errors)).toBe(true);
    expect(event.payload).toMatchObject({
      event: 'message.revoked',
      data: {
        instanceId: sessionId,
        userId: tenant.apiKeyId,
        metadata: [{}],
        payload: { before: { body: 'regret this', fromMe: false }, after: { fromMe: false }, _data: { message: { protocolMessage: { type: 'REVOKE', key: { id: original } } } } },
      },
    });
    expect((await system.api(`/api/v1/sessions/${sessionId}/messages/${original}`, { token: tenant.apiKey })).body).toMatchObject({ revokedAt: expect.any(String), text: null });
  });

  it('never writes Signal key material to any log', () => {
    for (const app of [system.gateway, ...system.workers.values()]) {
      expect(app.output()).not.toMatch(/privKey|rootKey|pendingPreKey|baseKey|chainKey|remoteIdentityKey/);
    }
  });

  it('marks the session logged_out and wipes its login when the phone unlinks the device', async () => {
    const deviceId = system.emulator.linkedDevices(phone)[0]?.deviceId ?? -1;
    system.emulator.logOut(phone, deviceId);
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${sessionId}`, { token: tenant.apiKey })).body['status'] === 'logged_out' || undefined, 'logged_out');
    expect(await system.db.authCreds.count({ where: { sessionId } })).toBe(0);
    expect(await system.db.authKey.count({ where: { sessionId } })).toBe(0);
    const send = await system.api(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'x' } });
    expect(send.body).toMatchObject({ error: { code: 'session_not_connected', details: { status: 'logged_out' } } });
  });
});
