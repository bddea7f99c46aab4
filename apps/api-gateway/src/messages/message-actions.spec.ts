import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsRepository } from '@wagw/db';
import { createTestTenant, startTestJwks, type TestJwks, type TestTenant } from '@wagw/testing';
import { startTestGateway, type TestGateway } from '../test/gateway-harness.js';

const PEER = '15557000002@s.whatsapp.net';

describe('reactions, edits and read receipts: tenancy, capabilities and bad input (in-process gateway, no worker)', () => {
  let jwks: TestJwks;
  let gateway: TestGateway;
  let orgA: TestTenant;
  let orgB: TestTenant;
  let foreignSession: string;
  const foreignMessage = '3EB0FOREIGN00000000001';

  beforeAll(async () => {
    jwks = await startTestJwks();
    gateway = await startTestGateway({ jwks });
    orgA = await createTestTenant(gateway.db, jwks);
    orgB = await createTestTenant(gateway.db, jwks);
    foreignSession = (await new SessionsRepository(gateway.db).create(orgB.orgId, { name: 'b', createdBy: orgB.userId })).id;
    await gateway.db.storedMessage.create({
      data: { orgId: orgB.orgId, sessionId: foreignSession, waMessageId: foreignMessage, chatJid: PEER, fromMe: true, messageType: 'conversation', text: 'hi', timestamp: BigInt(Math.floor(Date.now() / 1000)), raw: { key: { id: foreignMessage, remoteJid: PEER, fromMe: true } } },
    });
  });

  afterAll(async () => {
    await gateway.close();
    await jwks.close();
  });

  const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const routes = (session: string, mid: string): Array<[string, RequestInit]> => [
    [`/api/v1/sessions/${session}/messages/${mid}/reaction`, json('PUT', { emoji: '👍' })],
    [`/api/v1/sessions/${session}/messages/${mid}`, json('PATCH', { text: 'changed' })],
    [`/api/v1/sessions/${session}/messages/${mid}/read`, { method: 'POST' }],
    [`/api/v1/sessions/${session}/chats/${PEER}/read`, { method: 'POST' }],
  ];

  it("answers 404 for another organization's session and message on every route, and writes no operation", async () => {
    for (const [path, init] of routes(foreignSession, foreignMessage)) {
      const response = await gateway.request(path, { ...init, token: orgA.apiKey });
      expect(response, path).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    }
    expect(await gateway.db.outboxOperation.count({ where: { sessionId: foreignSession } })).toBe(0);
  });

  it('answers 403 to a key without the send capability', async () => {
    const readOnly = await orgB.createApiKey(['read']);
    for (const [path, init] of routes(foreignSession, foreignMessage)) {
      const response = await gateway.request(path, { ...init, token: readOnly.key });
      expect(response, path).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    }
  });

  it('refuses bad bodies in the envelope before anything is looked up or written', async () => {
    const bad: Array<[string, RequestInit]> = [
      [`/api/v1/sessions/${foreignSession}/messages/${foreignMessage}/reaction`, json('PUT', {})],
      [`/api/v1/sessions/${foreignSession}/messages/${foreignMessage}/reaction`, json('PUT', { emoji: '👍', extra: 1 })],
      [`/api/v1/sessions/${foreignSession}/messages/${foreignMessage}`, json('PATCH', { text: '' })],
      [`/api/v1/sessions/${foreignSession}/messages/${foreignMessage}/read`, json('POST', { chat: 'nope' })],
    ];
    for (const [path, init] of bad) {
      const response = await gateway.request(path, { ...init, token: orgB.apiKey });
      expect(response, `${init.method ?? ''} ${path}`).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    }
    expect(await gateway.db.outboxOperation.count({ where: { sessionId: foreignSession } })).toBe(0);
  });

  it('refuses an edit of an old message with a clear conflict, and a stopped session before anything is written', async () => {
    const old = '3EB0OLDMESSAGE00000001';
    await gateway.db.storedMessage.create({
      data: { orgId: orgB.orgId, sessionId: foreignSession, waMessageId: old, chatJid: PEER, fromMe: true, messageType: 'conversation', text: 'old', timestamp: BigInt(Math.floor(Date.now() / 1000) - 3_600), raw: { key: { id: old, remoteJid: PEER, fromMe: true } } },
    });
    const edit = await gateway.request(`/api/v1/sessions/${foreignSession}/messages/${old}`, { ...json('PATCH', { text: 'new' }), token: orgB.apiKey });
    expect(edit).toMatchObject({ status: 409, body: { error: { code: 'conflict', message: expect.stringContaining('within 15 minutes') } } });
    const react = await gateway.request(`/api/v1/sessions/${foreignSession}/messages/${foreignMessage}/reaction`, { ...json('PUT', { emoji: '👍' }), token: orgB.apiKey });
    expect(react).toMatchObject({ status: 409, body: { error: { code: 'session_not_connected' } } });
    expect(await gateway.db.outboxOperation.count({ where: { sessionId: foreignSession } })).toBe(0);
  });
});
