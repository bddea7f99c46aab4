import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDbClient } from '../prisma-client.js';
import { MessagesRepository, type NewStoredMessage } from './messages.repository.js';
import { OrganizationProvisioningRepository } from './system/organization-provisioning.repository.js';
import { OutboxRepository } from './outbox.repository.js';
import { SessionsRepository } from './sessions.repository.js';

const PHONE_CHAT = '15551230000@s.whatsapp.net';
const LID_CHAT = '71234567890123@lid';

function message(waMessageId: string, chatJid: string, fields: Partial<NewStoredMessage> = {}): NewStoredMessage {
  return { waMessageId, chatJid, senderJid: null, fromMe: true, messageType: 'conversation', text: 'hello', media: null, timestamp: 1_700_000_000, ack: 1, raw: { key: { id: waMessageId, remoteJid: chatJid } }, ...fields };
}

function revokeOf(revokeId: string, chatJid: string): NewStoredMessage {
  return message(revokeId, chatJid, { messageType: 'protocolMessage', text: null, raw: { key: { id: revokeId }, message: { protocolMessage: { type: 0 } } } });
}

describe('MessagesRepository.recordRevoke (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const messages = new MessagesRepository(db);
  let orgId: string;
  let sessionId: string;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('revokes')).id;
    sessionId = (await new SessionsRepository(db).create(orgId, { name: 's', createdBy: 'u' })).id;
  });
  afterAll(async () => db.$disconnect());

  const fence = () => ({ orgId, sessionId, epoch: 0 });
  const events = (eventId: string) => db.domainEvent.findMany({ where: { orgId, id: eventId } });

  it('stores the revoke, marks the original and writes one event built from the original as it was', async () => {
    await messages.store(fence(), message('ORIG-1', PHONE_CHAT));
    const seenOriginals: Array<string | null> = [];
    const recorded = await messages.recordRevoke(fence(), revokeOf('REV-1', PHONE_CHAT), { waMessageId: 'ORIG-1', chatJid: PHONE_CHAT, revokedBy: 'me@s.whatsapp.net' }, (eventId, original) => {
      seenOriginals.push(original === null ? null : `${original.waMessageId} revoked=${original.revoked}`);
      return { eventId, before: original?.raw ?? null };
    });
    expect(recorded).not.toBeNull();
    expect(seenOriginals).toEqual(['ORIG-1 revoked=false']);
    const original = await messages.find(orgId, sessionId, 'ORIG-1', PHONE_CHAT);
    expect(original?.revokedBy).toBe('me@s.whatsapp.net');
    expect(Math.abs((original?.revokedAt?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
    expect((await messages.find(orgId, sessionId, 'REV-1'))?.messageType).toBe('protocolMessage');
    const [event] = await events(recorded?.eventId ?? '');
    expect(event?.type).toBe('message.revoked');
    expect(event?.sessionId).toBe(sessionId);
    expect(event?.payload).toEqual({ eventId: recorded?.eventId, before: { key: { id: 'ORIG-1', remoteJid: PHONE_CHAT } } });
  });

  it('records the same revoke once, also when it comes back under the other form of the chat JID', async () => {
    await messages.store(fence(), message('ORIG-2', PHONE_CHAT));
    const build = (eventId: string) => ({ eventId });
    const first = await messages.recordRevoke(fence(), revokeOf('REV-2', PHONE_CHAT), { waMessageId: 'ORIG-2', chatJid: PHONE_CHAT, revokedBy: null }, build);
    const again = await messages.recordRevoke(fence(), revokeOf('REV-2', PHONE_CHAT), { waMessageId: 'ORIG-2', chatJid: PHONE_CHAT, revokedBy: null }, build);
    const echoed = await messages.recordRevoke(fence(), revokeOf('REV-2', LID_CHAT), { waMessageId: 'ORIG-2', chatJid: LID_CHAT, revokedBy: null }, build);
    expect(first).not.toBeNull();
    expect([again, echoed]).toEqual([null, null]);
    expect(await db.domainEvent.count({ where: { orgId, type: 'message.revoked', payload: { path: ['eventId'], equals: first?.eventId ?? '' } } })).toBe(1);
    expect(await db.storedMessage.count({ where: { orgId, waMessageId: 'REV-2' } })).toBe(1);
  });

  it("stores our send with its operation's outcome in one statement; a re-run of the send finds it finished", async () => {
    const outbox = new OutboxRepository(db);
    const { operation } = await outbox.create(orgId, { sessionId, kind: 'send', idempotencyKey: null, requestHash: 'h', request: {}, deadline: new Date(Date.now() + 60_000) });
    const result = { mode: 'sync', outboxId: operation.id, status: 'sent', waMessageId: 'SENT-1' };
    const at = new Date('2026-06-01T11:00:00.000Z');
    expect(await messages.storeSent(fence(), message('SENT-1', PHONE_CHAT), { outboxId: operation.id, result, waMessageId: 'SENT-1' }, at)).toBe(true);
    expect(await outbox.get(orgId, operation.id)).toMatchObject({ status: 'sent', result, waMessageId: 'SENT-1', completedAt: at });
    expect(await messages.storeSent(fence(), message('SENT-1', PHONE_CHAT, { ack: 2 }), { outboxId: operation.id, result, waMessageId: 'SENT-1' })).toBe(false);
    expect(await db.storedMessage.findMany({ where: { orgId, waMessageId: 'SENT-1' }, select: { ack: true } })).toEqual([{ ack: 2 }]);
    expect((await outbox.get(orgId, operation.id))?.completedAt).toEqual(at);
  });

  it("finishes our revoke's outbox operation and writes its audit entry in the same statement, once; an echo of the revoke does neither", async () => {
    await messages.store(fence(), message('ORIG-10', PHONE_CHAT));
    const outbox = new OutboxRepository(db);
    const { operation } = await outbox.create(orgId, { sessionId, kind: 'revoke', idempotencyKey: null, requestHash: 'h', request: {}, deadline: new Date(Date.now() + 60_000) });
    const audit = { actorKind: 'api_key', actorId: 'key-10', action: 'message.revoked', targetType: 'message', targetId: 'ORIG-10', details: { outboxId: operation.id } };
    const outcome = { outboxId: operation.id, result: { mode: 'sync', outboxId: operation.id, status: 'sent', waMessageId: 'REV-10' }, waMessageId: 'REV-10', audit };
    const at = new Date('2026-06-01T10:00:00.000Z');
    const recorded = await messages.recordRevoke(fence(), revokeOf('REV-10', PHONE_CHAT), { waMessageId: 'ORIG-10', chatJid: PHONE_CHAT, revokedBy: null }, (eventId) => ({ eventId }), at, outcome);
    expect(recorded?.outcomeRecorded).toBe(true);
    expect(await outbox.get(orgId, operation.id)).toMatchObject({ status: 'sent', result: outcome.result, waMessageId: 'REV-10', completedAt: at });
    const echoed = await messages.recordRevoke(fence(), revokeOf('REV-10', PHONE_CHAT), { waMessageId: 'ORIG-10', chatJid: PHONE_CHAT, revokedBy: null }, (eventId) => ({ eventId }), new Date(), outcome);
    expect(echoed).toBeNull();
    expect((await outbox.get(orgId, operation.id))?.completedAt).toEqual(at);
    // The audit entry came with the outcome, once.
    expect(await db.auditLogEntry.findMany({ where: { orgId, actorId: 'key-10' }, select: { action: true, targetId: true, details: true } })).toEqual([{ action: 'message.revoked', targetId: 'ORIG-10', details: { outboxId: operation.id } }]);
  });

  it('two copies of one revoke racing write one set of rows', async () => {
    await messages.store(fence(), message('ORIG-3', PHONE_CHAT));
    const build = (eventId: string) => ({ eventId });
    const outcomes = await Promise.all([1, 2, 3].map(() => messages.recordRevoke(fence(), revokeOf('REV-3', PHONE_CHAT), { waMessageId: 'ORIG-3', chatJid: PHONE_CHAT, revokedBy: null }, build)));
    expect(outcomes.filter((outcome) => outcome !== null)).toHaveLength(1);
    const eventIds = outcomes.flatMap((outcome) => (outcome ? [outcome.eventId] : []));
    expect(await db.domainEvent.count({ where: { orgId, id: { in: eventIds } } })).toBe(1);
    expect(await db.storedMessage.count({ where: { orgId, waMessageId: 'REV-3' } })).toBe(1);
  });

  it('finds the original under the chat\'s other JID (phone number on one side, LID on the other)', async () => {
    await messages.store(fence(), message('ORIG-4', LID_CHAT));
    let before: unknown = 'unset';
    await messages.recordRevoke(fence(), revokeOf('REV-4', PHONE_CHAT), { waMessageId: 'ORIG-4', chatJid: PHONE_CHAT, revokedBy: 'peer@lid' }, (eventId, original) => {
      before = original?.chatJid ?? null;
      return { eventId };
    });
    expect(before).toBe(LID_CHAT);
    expect((await messages.find(orgId, sessionId, 'ORIG-4'))?.revokedBy).toBe('peer@lid');
  });

  it('records a revoke of a message it never stored, with no original', async () => {
    let before: unknown = 'unset';
    const recorded = await messages.recordRevoke(fence(), revokeOf('REV-5', PHONE_CHAT), { waMessageId: 'NEVER-SEEN', chatJid: PHONE_CHAT, revokedBy: null }, (eventId, original) => {
      before = original;
      return { eventId };
    });
    expect(recorded).not.toBeNull();
    expect(before).toBeNull();
  });

  it('keeps an earlier revoke time: a message revoked already is not marked again', async () => {
    await messages.store(fence(), message('ORIG-6', PHONE_CHAT));
    const earlier = new Date('2026-01-01T00:00:00Z');
    await messages.markRevoked(fence(), PHONE_CHAT, 'ORIG-6', 'first', earlier);
    await messages.recordRevoke(fence(), revokeOf('REV-6', PHONE_CHAT), { waMessageId: 'ORIG-6', chatJid: PHONE_CHAT, revokedBy: 'second' }, (eventId) => ({ eventId }));
    const original = await messages.find(orgId, sessionId, 'ORIG-6');
    expect(original?.revokedBy).toBe('first');
    expect(original?.revokedAt?.toISOString()).toBe(earlier.toISOString());
  });

  it('stores times as UTC, like every row Prisma writes', async () => {
    await messages.store(fence(), message('ORIG-7', PHONE_CHAT));
    const at = new Date('2026-06-01T12:34:56.789Z');
    await messages.recordRevoke(fence(), revokeOf('REV-7', PHONE_CHAT), { waMessageId: 'ORIG-7', chatJid: PHONE_CHAT, revokedBy: null }, (eventId) => ({ eventId }), at);
    expect((await messages.find(orgId, sessionId, 'ORIG-7'))?.revokedAt?.toISOString()).toBe(at.toISOString());
    expect((await messages.find(orgId, sessionId, 'REV-7'))?.createdAt.toISOString()).toBe(at.toISOString());
  });

  it('never touches another organization\'s message of the same id', async () => {
    const otherOrg = (await new OrganizationProvisioningRepository(db).create('other')).id;
    const otherSession = (await new SessionsRepository(db).create(otherOrg, { name: 's', createdBy: 'u' })).id;
    await messages.store({ orgId: otherOrg, sessionId: otherSession, epoch: 0 }, message('ORIG-8', PHONE_CHAT));
    let before: unknown = 'unset';
    await messages.recordRevoke(fence(), revokeOf('REV-8', PHONE_CHAT), { waMessageId: 'ORIG-8', chatJid: PHONE_CHAT, revokedBy: null }, (eventId, original) => {
      before = original;
      return { eventId };
    });
    expect(before).toBeNull();
    expect((await messages.find(otherOrg, otherSession, 'ORIG-8'))?.revokedAt).toBeNull();
  });

  it("cannot store into another organization's session, not even the ack of a message it holds", async () => {
    const otherOrg = (await new OrganizationProvisioningRepository(db).create('other store')).id;
    const otherSession = (await new SessionsRepository(db).create(otherOrg, { name: 's', createdBy: 'u' })).id;
    await messages.store({ orgId: otherOrg, sessionId: otherSession, epoch: 0 }, message('ORIG-9', PHONE_CHAT, { ack: 1 }));
    // The same session id and message key, named under this organization: refused, nothing changed.
    expect(await messages.store({ orgId, sessionId: otherSession, epoch: 0 }, message('ORIG-9', PHONE_CHAT, { ack: 4 }))).toBe(false);
    expect((await messages.find(otherOrg, otherSession, 'ORIG-9'))?.ack).toBe(1);
  });
});
