import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proto } from '@whiskeysockets/baileys';
import { commandQueueName } from '@wagw/contracts';
import { createRedisConnection } from '@wagw/queue';
import type { TestTenant } from '@wagw/testing';
import { E2eSystem } from './harness.js';

describe('revoke: errors and group admin revoke, end to end', { timeout: 120_000 }, () => {
  const system = new E2eSystem();
  const phone = '15553000001';
  const peer = '15553000002';
  const alice = '15553000003';
  let orgA: TestTenant;
  let orgB: TestTenant;
  let sessionA: string;
  let sessionB: string;
  let sentId: string;
  let commands: Queue;
  const jobCount = async (): Promise<number> => Object.values(await commands.getJobCounts()).reduce((sum, count) => sum + count, 0);

  beforeAll(async () => {
    await system.start();
    commands = new Queue(commandQueueName('worker-a'), { connection: createRedisConnection(system.redisConnectionUrl, 'e2e-queue-probe') });
    for (const [number, name] of [[phone, 'Gateway'], [peer, 'Peer'], [alice, 'Alice']] as const) system.emulator.createAccount({ phone: number, pushName: name });
    orgA = await system.tenant();
    orgB = await system.tenant();
    sessionA = await system.connectedSession(orgA, phone);
    sessionB = ((await system.api('/api/v1/sessions', { method: 'POST', token: orgB.apiKey, body: { name: 'b' } })).body['id'] as string);
    const sent = await system.api(`/api/v1/sessions/${sessionA}/messages`, { method: 'POST', token: orgA.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'mine' } });
    sentId = sent.body['waMessageId'] as string;
  }, 60_000);

  afterAll(async () => {
    await commands.close();
    await system.stop();
  });

  const revoke = (session: string, mid: string, token: string, body: unknown = {}) =>
    system.api(`/api/v1/sessions/${session}/messages/${mid}`, { method: 'DELETE', token, body });

  it("answers 404 for another organization's session and enqueues nothing", async () => {
    const before = await jobCount();
    const response = await revoke(sessionA, sentId, orgB.apiKey);
    expect(response).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'session not found', details: { session: sessionA } } } });
    expect(await jobCount()).toBe(before);
    expect(await system.db.outboxOperation.count({ where: { orgId: orgB.orgId } })).toBe(0);
  });

  it("answers 404 for another organization's message through one's own session", async () => {
    const response = await revoke(sessionB, sentId, orgB.apiKey);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: { code: 'not_found', message: 'message not found' } });
  });

  it('answers 404 for an unknown message id', async () => {
    expect((await revoke(sessionA, '3EB0000000000000000000', orgA.apiKey)).body).toMatchObject({ error: { code: 'not_found', message: 'message not found' } });
  });

  it('answers 403 without the send capability and 401 without a token', async () => {
    const readOnly = await orgA.createApiKey(['read']);
    expect((await revoke(sessionA, sentId, readOnly.key)).body).toMatchObject({ error: { code: 'forbidden' } });
    const anonymous = await system.api(`/api/v1/sessions/${sessionA}/messages/${sentId}`, { method: 'DELETE', body: {} });
    expect(anonymous.status).toBe(401);
  });

  it('answers 400 with per-field details for a malformed body', async () => {
    const response = await revoke(sessionA, sentId, orgA.apiKey, { chat: 'not-a-jid', sender: 42, extra: true });
    expect(response.status).toBe(400);
    const fields = (response.body as { error: { details: { fields: Record<string, string> } } }).error.details.fields;
    expect(Object.keys(fields)).toEqual(expect.arrayContaining(['chat', 'sender']));
    expect((await revoke(sessionA, 'not an id!', orgA.apiKey)).status).toBe(400);
  });

  it('answers 409 session_not_connected while the session is stopped, and works again once restarted', async () => {
    expect((await system.api(`/api/v1/sessions/${sessionA}/stop`, { method: 'POST', token: orgA.apiKey })).status).toBe(200);
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${sessionA}`, { token: orgA.apiKey })).body['status'] === 'stopped' || undefined, 'stopped');
    const before = await system.db.outboxOperation.count({ where: { orgId: orgA.orgId } });
    const response = await revoke(sessionA, sentId, orgA.apiKey);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ error: { code: 'session_not_connected', details: { status: 'stopped' } } });
    expect(await system.db.outboxOperation.count({ where: { orgId: orgA.orgId } })).toBe(before);

    await system.api(`/api/v1/sessions/${sessionA}/start`, { method: 'POST', token: orgA.apiKey });
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${sessionA}`, { token: orgA.apiKey })).body['status'] === 'connected' || undefined, 'connected again');
    expect((await revoke(sessionA, sentId, orgA.apiKey)).status).toBe(200);
  });

  it('answers 502 whatsapp_rejected, never sent, when WhatsApp refuses the message with an error ack (463)', async () => {
    system.emulator.failNextMessage(phone, 463);
    const response = await system.api(`/api/v1/sessions/${sessionA}/messages`, { method: 'POST', token: orgA.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'bounced' }, headers: { 'idempotency-key': 'bounced-463' } });
    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ error: { code: 'whatsapp_rejected', details: { whatsappError: 463, outboxId: expect.any(String) } } });
    const outboxId = (response.body as { error: { details: { outboxId: string } } }).error.details.outboxId;
    expect((await system.api(`/api/v1/operations/${outboxId}`, { token: orgA.apiKey })).body).toMatchObject({ status: 'failed', error: { code: 'whatsapp_rejected' } });
    expect(system.emulator.received(peer).some((message) => message.message.conversation === 'bounced' || message.message.extendedTextMessage?.text === 'bounced')).toBe(false);
    // The outcome is final: the same key answers the same refusal and sends nothing.
    const again = await system.api(`/api/v1/sessions/${sessionA}/messages`, { method: 'POST', token: orgA.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'bounced' }, headers: { 'idempotency-key': 'bounced-463' } });
    expect(again.status).toBe(502);
  });

  it('answers 409 conflict to the same Idempotency-Key while the first request is still in flight', async () => {
    const sent = await system.api(`/api/v1/sessions/${sessionA}/messages`, { method: 'POST', token: orgA.apiKey, body: { chat: `${peer}@s.whatsapp.net`, text: 'slow revoke' } });
    const mid = sent.body['waMessageId'] as string;
    // Hold the stored message's row so the first revoke stays in flight (the worker blocks writing it down).
    const lock = new pg.Client({ connectionString: system.postgresUrl });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('SELECT id FROM messages WHERE wa_message_id = $1 FOR UPDATE', [mid]);
    const headers = { 'idempotency-key': `inflight-${mid}` };
    const first = system.api(`/api/v1/sessions/${sessionA}/messages/${mid}`, { method: 'DELETE', token: orgA.apiKey, body: {}, headers });
    await system.waitFor(async () => (await system.db.outboxOperation.count({ where: { orgId: orgA.orgId, idempotencyKey: `inflight-${mid}` } })) === 1 || undefined, 'the first request to be recorded');
    const second = await system.api(`/api/v1/sessions/${sessionA}/messages/${mid}`, { method: 'DELETE', token: orgA.apiKey, body: {}, headers });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ error: { code: 'conflict', details: { outboxId: expect.any(String) } } });
    await lock.query('ROLLBACK');
    await lock.end();
    expect((await first).status).toBe(200);
  });

  it("revokes a member's group message as admin (sender set): the members see it", async () => {
    const group = system.emulator.createGroup({ subject: 'Ops', members: [phone, alice, peer], admins: [phone] });
    const memberMessage = await system.emulator.peerSendGroupText({ from: alice, group: group.jid, text: 'please delete me' });
    await system.waitFor(async () => (await system.api(`/api/v1/sessions/${sessionA}/messages/${memberMessage}`, { token: orgA.apiKey })).status === 200 || undefined, 'the member message in our store');

    const response = await revoke(sessionA, memberMessage, orgA.apiKey, { chat: group.jid, sender: `${alice}@s.whatsapp.net` });
    expect(response.status).toBe(200);
    for (const member of [alice, peer]) {
      const seen = await system.waitFor(
        async () => system.emulator.received(member).find((message) => message.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.REVOKE && message.message.protocolMessage.key?.id === memberMessage),
        `${member} to see the admin revoke`,
      );
      expect(seen.edit).toBe('8');
      expect(seen.chat).toBe(group.jid);
    }
    const wrongSender = await revoke(sessionA, memberMessage, orgA.apiKey, { chat: group.jid, sender: `${peer}@s.whatsapp.net` });
    expect(wrongSender.status).toBe(404);
  });
});
