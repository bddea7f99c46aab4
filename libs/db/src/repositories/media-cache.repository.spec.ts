import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbClient } from '../prisma-client.js';
import { MediaCacheRepository } from './media-cache.repository.js';
import { MessagesRepository } from './messages.repository.js';
import { OrganizationProvisioningRepository } from './system/organization-provisioning.repository.js';
import { SessionsRepository } from './sessions.repository.js';

const CHAT = '15551230000@s.whatsapp.net';

describe('MediaCacheRepository (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const cache = new MediaCacheRepository(db);
  const messages = new MessagesRepository(db);
  let orgId: string;
  let otherOrgId: string;
  let sessionId: string;

  beforeAll(async () => {
    const organizations = new OrganizationProvisioningRepository(db);
    orgId = (await organizations.create('media')).id;
    otherOrgId = (await organizations.create('media-other')).id;
    sessionId = (await new SessionsRepository(db).create(orgId, { name: 's', createdBy: 'u' })).id;
    await db.cachedMedia.deleteMany({});
  });
  afterAll(async () => db.$disconnect());

  /** A stored message's own id (the cache's key). */
  async function storedMessage(waMessageId: string): Promise<string> {
    await messages.store({ orgId, sessionId, epoch: 0 }, { waMessageId, chatJid: CHAT, senderJid: CHAT, fromMe: false, messageType: 'imageMessage', text: null, media: { kind: 'image' }, timestamp: 1_700_000_000, ack: 2, raw: { key: { id: waMessageId } } });
    const found = await messages.find(orgId, sessionId, waMessageId, CHAT);
    if (!found) throw new Error('not stored');
    return found.id;
  }
  const file = (fill: number) => ({ bytes: Buffer.alloc(100, fill), mimetype: 'image/png' });
  const held = async (ids: string[]) => Promise.all(ids.map(async (id) => (await db.cachedMedia.findUnique({ where: { orgId_messageId: { orgId, messageId: id } } })) !== null));

  it('serves what was stored, byte for byte, to its organization only', async () => {
    const id = await storedMessage('CACHE-1');
    await cache.store(orgId, id, file(1), 10_000);
    expect((await cache.read(orgId, id))?.bytes.equals(Buffer.alloc(100, 1))).toBe(true);
    expect(await cache.read(otherOrgId, id)).toBeNull();
    // Stored twice (two requests racing): one copy.
    await cache.store(orgId, id, file(1), 10_000);
    expect(await db.cachedMedia.count({ where: { orgId, messageId: id } })).toBe(1);
    await db.cachedMedia.deleteMany({});
  });

  it('keeps within its budget by evicting the files read least recently, never the one just stored', async () => {
    const [a, b, c, d] = [await storedMessage('CACHE-A'), await storedMessage('CACHE-B'), await storedMessage('CACHE-C'), await storedMessage('CACHE-D')] as [string, string, string, string];
    for (const [index, id] of [a, b, c].entries()) {
      await cache.store(orgId, id, file(index), 300);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await held([a, b, c])).toEqual([true, true, true]);
    // A read moves A to the front: B is now the least recently read.
    await cache.read(orgId, a);
    await cache.store(orgId, d, file(9), 300);
    expect(await held([a, b, c, d])).toEqual([true, false, true, true]);
    expect(await cache.heldBytes()).toBe(300);
    // A budget smaller than the new file still keeps the new file (the worker checked it fits MEDIA_CACHE_MAX_BYTES).
    await cache.store(orgId, b, file(2), 50);
    expect(await held([a, b, c, d])).toEqual([false, true, false, false]);
  });

  it("goes with its message: deleting the session's messages deletes its file", async () => {
    const id = await storedMessage('CACHE-GONE');
    await cache.store(orgId, id, file(3), 10_000);
    await db.storedMessage.delete({ where: { id } });
    expect(await db.cachedMedia.count({ where: { messageId: id } })).toBe(0);
  });
});
