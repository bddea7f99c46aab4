import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbClient } from '../prisma-client.js';
import { AuthStateRepository } from './auth-state.repository.js';
import { MessagesRepository, type NewStoredMessage } from './messages.repository.js';
import { OutboxRepository } from './outbox.repository.js';
import type { SessionFence } from './session-fence.js';
import { SessionsRepository } from './sessions.repository.js';
import { OrganizationProvisioningRepository } from './system/organization-provisioning.repository.js';

const CHAT = '15551230000@s.whatsapp.net';

function message(waMessageId: string, fields: Partial<NewStoredMessage> = {}): NewStoredMessage {
  return { waMessageId, chatJid: CHAT, senderJid: CHAT, fromMe: false, messageType: 'conversation', text: 'hi', media: null, timestamp: 1_700_000_000, ack: 1, raw: { key: { id: waMessageId } }, ...fields };
}

/**
 * A worker that lost a session (epoch 1) keeps writing after the new owner (epoch 2) took it: every kind
 * of write it makes is refused in its own statement, and the row, the events, the messages, the
 * outcomes and the keys are as the new owner left them.
 */
describe('writes of a worker that lost the session are refused (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const sessions = new SessionsRepository(db);
  const messages = new MessagesRepository(db);
  const outbox = new OutboxRepository(db);
  const auth = new AuthStateRepository(db);
  let orgId: string;
  let sessionId: string;
  let stale: SessionFence;
  let current: SessionFence;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('fenced')).id;
    sessionId = (await sessions.create(orgId, { name: 's', createdBy: 'u' })).id;
    stale = { orgId, sessionId, epoch: 1 };
    current = { orgId, sessionId, epoch: 2 };
    expect(await sessions.claimAsOwner(stale, 'worker-a', { status: 'connected', shouldRun: true }, null)).toBe(true);
    expect(await sessions.claimAsOwner(current, 'worker-b', { status: 'starting' }, null)).toBe(true);
    expect(await sessions.updateAsOwner(current, { status: 'connected' }, null)).toBe(true);
    expect(await auth.saveCreds(orgId, sessionId, 2, JSON.stringify({ owner: 'b' }))).toBe(true);
  });
  afterAll(async () => db.$disconnect());

  const statusEvents = () => db.domainEvent.count({ where: { orgId, sessionId, type: 'session.status' } });

  it('the session row: status, should_run, last error and its session.status event', async () => {
    const events = await statusEvents();
    const event = { id: crypto.randomUUID(), type: 'session.status', payload: { status: 'disconnected' } };
    expect(await sessions.updateAsOwner(stale, { status: 'disconnected', shouldRun: false, lastError: 'replaced by another connection' }, event)).toBe(false);
    expect(await sessions.updateAsOwner(stale, { mePushName: 'stale name' }, null)).toBe(false);
    expect(await sessions.findById(orgId, sessionId)).toMatchObject({ status: 'connected', shouldRun: true, lastError: null, mePushName: null, ownerWorkerId: 'worker-b', ownerEpoch: 2n });
    expect(await statusEvents()).toBe(events);
    expect(await db.domainEvent.count({ where: { id: event.id } })).toBe(0);
  });

  it('claiming back with an older epoch', async () => {
    expect(await sessions.claimAsOwner(stale, 'worker-a', { status: 'starting' }, null)).toBe(false);
    expect(await sessions.findById(orgId, sessionId)).toMatchObject({ status: 'connected', ownerWorkerId: 'worker-b', ownerEpoch: 2n });
  });

  it('messages: sent, received (with its event), marked revoked, and a revoke with its event and outcome', async () => {
    expect(await messages.store(current, message('KEPT', { fromMe: true }))).toBe(true);
    expect(await messages.store(stale, message('OWN-1', { fromMe: true }))).toBe(false);
    expect(await messages.store(stale, message('KEPT', { fromMe: true, ack: 4 }))).toBe(false);
    const { operation: send } = await outbox.create(orgId, { sessionId, kind: 'send', idempotencyKey: null, requestHash: 'h', request: {}, deadline: new Date(Date.now() + 60_000) });
    expect(await messages.storeSent(stale, message('OWN-2', { fromMe: true }), { outboxId: send.id, result: { status: 'sent' }, waMessageId: 'OWN-2' })).toBe(false);
    expect(await outbox.get(orgId, send.id)).toMatchObject({ status: 'pending' });
    expect(await messages.storeReceived(stale, message('IN-1'), (eventId) => ({ eventId }))).toBeNull();
    expect(await messages.markRevoked(stale, CHAT, 'KEPT', 'someone')).toBe(false);
    const { operation } = await outbox.create(orgId, { sessionId, kind: 'revoke', idempotencyKey: null, requestHash: 'h', request: {}, deadline: new Date(Date.now() + 60_000) });
    const outcome = { outboxId: operation.id, result: { status: 'sent' }, waMessageId: 'REV-1', audit: { actorKind: 'api_key', actorId: 'stale-revoke', action: 'message.revoked', targetType: 'message' } };
    expect(await messages.recordRevoke(stale, message('REV-1', { messageType: 'protocolMessage', fromMe: true }), { waMessageId: 'KEPT', chatJid: CHAT, revokedBy: null }, (eventId) => ({ eventId }), new Date(), outcome)).toBeNull();

    expect(await db.storedMessage.findMany({ where: { orgId, sessionId }, select: { waMessageId: true, ack: true, revokedAt: true } })).toEqual([{ waMessageId: 'KEPT', ack: 1, revokedAt: null }]);
    expect(await db.domainEvent.count({ where: { orgId, sessionId, type: { in: ['message.received', 'message.revoked'] } } })).toBe(0);
    expect(await outbox.get(orgId, operation.id)).toMatchObject({ status: 'pending', result: null });
    expect(await db.auditLogEntry.count({ where: { orgId, actorId: 'stale-revoke' } })).toBe(0);
  });

  it("an operation's outcome (and its audit entry), whichever the outcome", async () => {
    const { operation } = await outbox.create(orgId, { sessionId, kind: 'send', idempotencyKey: null, requestHash: 'h', request: {}, deadline: new Date(Date.now() + 60_000) });
    const audit = { actorKind: 'api_key', actorId: 'stale-send', action: 'message.sent', targetType: 'message' };
    expect(await outbox.finish(stale, operation.id, { status: 'sent', result: { status: 'sent' }, waMessageId: 'W1' }, new Date(), audit)).toBe(false);
    expect(await outbox.finish(stale, operation.id, { status: 'expired', error: { code: 'timeout' } })).toBe(false);
    expect(await outbox.finish(stale, operation.id, { status: 'failed', error: { code: 'internal' } })).toBe(false);
    expect(await outbox.get(orgId, operation.id)).toMatchObject({ status: 'pending', result: null, error: null, waMessageId: null });
    expect(await db.auditLogEntry.count({ where: { orgId, actorId: 'stale-send' } })).toBe(0);
    // The owner's own outcome lands, with its audit entry, once.
    expect(await outbox.finish(current, operation.id, { status: 'sent', result: { status: 'sent' }, waMessageId: 'W1' }, new Date(), { ...audit, actorId: 'owner-send' })).toBe(true);
    expect(await outbox.finish(current, operation.id, { status: 'failed', error: { code: 'internal' } })).toBe(false);
    expect(await outbox.get(orgId, operation.id)).toMatchObject({ status: 'sent', waMessageId: 'W1' });
    expect(await db.auditLogEntry.count({ where: { orgId, actorId: 'owner-send' } })).toBe(1);
  });

  it('auth creds and keys, and the wipe after a logout', async () => {
    expect(await auth.setKeys(orgId, sessionId, 2, [{ type: 'pre-key', id: '1', json: '{"k":1}' }])).toBe(true);
    expect(await auth.saveCreds(orgId, sessionId, 1, JSON.stringify({ owner: 'a' }))).toBe(false);
    expect(await auth.setKeys(orgId, sessionId, 1, [{ type: 'pre-key', id: '1', json: null }])).toBe(false);
    expect(await auth.wipeAsOwner(stale)).toBe(false);
    expect(JSON.parse((await auth.loadCreds(orgId, sessionId)) ?? '{}')).toEqual({ owner: 'b' });
    expect((await auth.getKeys(orgId, sessionId, 'pre-key', ['1'])).size).toBe(1);
    expect(await auth.wipeAsOwner(current)).toBe(true);
    expect(await auth.loadCreds(orgId, sessionId)).toBeNull();
    expect((await auth.getKeys(orgId, sessionId, 'pre-key', ['1'])).size).toBe(0);
  });

  it('a write racing the takeover: the takeover commits first, the write then finds no owner', async () => {
    const raced = (await sessions.create(orgId, { name: 'raced', createdBy: 'u' })).id;
    const old = { orgId, sessionId: raced, epoch: 1 };
    await sessions.claimAsOwner(old, 'worker-a', {}, null);
    const takeover = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1 });
    let write: Promise<{ eventId: string } | null> | undefined;
    await takeover.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE whatsapp_sessions SET owner_epoch = 2, owner_worker_id = 'worker-b' WHERE id = ${raced}::uuid`;
      write = messages.storeReceived(old, message('RACED'), (eventId) => ({ eventId }));
      // The write waits for the session row until the takeover commits.
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    expect(await write).toBeNull();
    expect(await db.storedMessage.count({ where: { orgId, sessionId: raced } })).toBe(0);
    await takeover.$disconnect();
  });
});
