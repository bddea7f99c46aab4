import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeLease, redisKeys } from '@wagw/contracts';
import { MediaCacheRepository, SessionsRepository } from '@wagw/db';
import { createRedisConnection } from '@wagw/queue';
import { createTestTenant, type TestTenant } from '@wagw/testing';
import { startTestGateway, type TestGateway } from '../test/gateway-harness.js';

const PEER = '15557100002@s.whatsapp.net';

describe('the media endpoint and control commands (in-process gateway; the only worker is a lease nobody serves)', () => {
  let gateway: TestGateway;
  let owner: TestTenant;
  let stranger: TestTenant;
  let sessionId: string;
  const redis = createRedisConnection(inject('redisUrl'), 'media-spec');
  const pdf = Buffer.from('%PDF-1.4\n% cached\n'.repeat(20));

  /** A stored message of the session, with `media` as the worker stores it; its own id. */
  async function stored(waMessageId: string, fields: { media?: object; revokedAt?: Date; fromMe?: boolean } = {}): Promise<string> {
    const row = await gateway.db.storedMessage.create({
      data: {
        orgId: owner.orgId,
        sessionId,
        waMessageId,
        chatJid: PEER,
        fromMe: fields.fromMe ?? false,
        messageType: fields.media ? 'documentMessage' : 'conversation',
        text: null,
        timestamp: BigInt(Math.floor(Date.now() / 1000)),
        raw: { key: { id: waMessageId, remoteJid: PEER, fromMe: false } },
        ...(fields.media ? { media: fields.media } : {}),
        ...(fields.revokedAt ? { revokedAt: fields.revokedAt } : {}),
      },
    });
    return row.id;
  }
  const document = { kind: 'document', mimetype: 'application/pdf', size: pdf.length, fileName: 'invoice "42".pdf', caption: null, sha256: null };

  beforeAll(async () => {
    gateway = await startTestGateway({ env: { COMMAND_TIMEOUT_MS: '1000' } });
    owner = await createTestTenant(gateway.db);
    stranger = await createTestTenant(gateway.db);
    sessionId = (await new SessionsRepository(gateway.db).create(owner.orgId, { name: 'media', createdBy: owner.userId })).id;
  });

  afterAll(async () => {
    await redis.quit();
    await gateway.close();
  });

  const media = (mid: string, token: string) => gateway.request(`/api/v1/sessions/${sessionId}/messages/${mid}/media`, { token });

  it('serves a cached attachment with its type, a safe file name and nosniff, without asking any worker', async () => {
    const id = await stored('3EB0MEDIACACHED0000001', { media: document });
    await new MediaCacheRepository(gateway.db).store(owner.orgId, id, { bytes: pdf, mimetype: 'application/pdf' }, 1024 * 1024);
    const response = await fetch(`${gateway.url}/api/v1/sessions/${sessionId}/messages/3EB0MEDIACACHED0000001/media`, { headers: { authorization: `Bearer ${owner.apiKey}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="invoice _42_.pdf"; filename*=UTF-8''invoice%20%2242%22.pdf`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer()).equals(pdf)).toBe(true);
    // The message view points at it.
    const view = await gateway.request(`/api/v1/sessions/${sessionId}/messages/3EB0MEDIACACHED0000001`, { token: owner.apiKey });
    expect(view.body).toMatchObject({ media: { kind: 'document', fileName: 'invoice "42".pdf', url: `/api/v1/sessions/${sessionId}/messages/3EB0MEDIACACHED0000001/media` } });
  });

  it("answers 404 for another organization, and for a message without an attachment; 409 once revoked or while the session is not connected", async () => {
    expect(await media('3EB0MEDIACACHED0000001', stranger.apiKey)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    await stored('3EB0MEDIATEXTONLY000001');
    expect(await media('3EB0MEDIATEXTONLY000001', owner.apiKey)).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: 'the message carries no attachment' } } });
    await stored('3EB0MEDIAREVOKED0000001', { media: document, revokedAt: new Date() });
    expect(await media('3EB0MEDIAREVOKED0000001', owner.apiKey)).toMatchObject({ status: 409, body: { error: { code: 'conflict', message: 'the message was revoked' } } });
    await stored('3EB0MEDIANOTCACHED00001', { media: document });
    expect(await media('3EB0MEDIANOTCACHED00001', owner.apiKey)).toMatchObject({ status: 409, body: { error: { code: 'session_not_connected' } } });
  });

  it('answers a control command its worker never answers with 504 timeout, not a 500', async () => {
    await gateway.db.whatsAppSession.update({ where: { id: sessionId }, data: { status: 'connected' } });
    await redis.set(redisKeys.lease(sessionId), encodeLease({ workerId: 'worker-that-never-answers', epoch: 1 }), 'PX', 30_000);
    await stored('3EB0MEDIAMARKREAD000001');
    const read = await gateway.request(`/api/v1/sessions/${sessionId}/messages/3EB0MEDIAMARKREAD000001/read`, { method: 'POST', token: owner.apiKey });
    expect(read).toMatchObject({ status: 504, body: { error: { code: 'timeout' } } });
    await redis.del(redisKeys.lease(sessionId));
  });
});
