import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EventType } from '@wagw/contracts';
import { createDbClient, MessagesRepository, SessionsRepository, type NewStoredMessage } from '@wagw/db';
import { OrganizationProvisioningRepository } from '@wagw/db/system';
import { createLogger } from '@wagw/observability';
import { MessageRecorder } from './message-recorder.js';

const CHAT = '15551230000@s.whatsapp.net';
const ME = '15559990000@s.whatsapp.net';

function stored(waMessageId: string, fields: Partial<NewStoredMessage> = {}): NewStoredMessage {
  return { waMessageId, chatJid: CHAT, senderJid: ME, fromMe: true, messageType: 'conversation', text: 'hello', media: null, timestamp: 1_700_000_000, ack: 1, raw: { key: { id: waMessageId, remoteJid: CHAT, fromMe: true } }, ...fields };
}

describe('MessageRecorder (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const published: Array<{ eventId: string; type: EventType }> = [];
  let recorder: MessageRecorder;
  let orgId: string;
  let sessionId: string;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('recorder')).id;
    sessionId = (await new SessionsRepository(db).create(orgId, { name: 's', createdBy: 'u' })).id;
    const deps = { messages: new MessagesRepository(db), logger: createLogger('test', 'silent'), publish: async (eventId: string, type: EventType) => void published.push({ eventId, type }) };
    recorder = new MessageRecorder({ orgId, sessionId, epoch: 0 }, deps, () => ({ id: sessionId, createdBy: 'u', metadata: {}, meJid: ME, mePushName: 'Me' }));
  });
  afterAll(async () => db.$disconnect());

  it('records our revoke once however often Baileys reports it, with one message.revoked naming us', async () => {
    await recorder.recordOwn(stored('ORIG-A'));
    const revoke = { message: stored('REV-A', { messageType: 'protocolMessage', text: null }), target: 'ORIG-A', fromMe: true, author: null };
    await recorder.recordRevoke(revoke);
    // The echo of the same revoke, and Baileys' update form of it.
    await recorder.recordInbound([{ kind: 'revoke', ...revoke }, { kind: 'original_revoked', chat: CHAT, id: 'ORIG-A', by: CHAT }]);

    const events = await db.domainEvent.findMany({ where: { orgId, type: 'message.revoked' } });
    expect(events).toHaveLength(1);
    expect(published).toEqual([{ eventId: events[0]?.id, type: 'message.revoked' }]);
    const original = await db.storedMessage.findFirst({ where: { orgId, sessionId, waMessageId: 'ORIG-A' } });
    expect(original?.revokedBy).toBe(ME);
  });

  it("records a peer's message with one message.received, and a failing entry does not stop the next", async () => {
    const peer = '15551230000@s.whatsapp.net';
    const received = stored('IN-1', { fromMe: false, senderJid: peer, raw: { key: { id: 'IN-1', remoteJid: CHAT, fromMe: false } } });
    // Postgres refuses a NUL in text: this row cannot be written.
    const broken = stored('IN-2', { fromMe: false, text: 'a\u0000b' });
    await recorder.recordInbound([{ kind: 'received', message: broken }, { kind: 'received', message: received }, { kind: 'received', message: received }]);
    expect(await db.domainEvent.count({ where: { orgId, type: 'message.received' } })).toBe(1);
    expect(await db.storedMessage.count({ where: { orgId, sessionId, waMessageId: 'IN-1' } })).toBe(1);
  });

  const ackEvents = async (waMessageId: string): Promise<Array<{ ack: number; ackName: string }>> =>
    (await db.domainEvent.findMany({ where: { orgId, type: 'message.ack' }, orderBy: { id: 'asc' } }))
      .map((event) => (event.payload as { data: { payload: { id: string; ack: number; ackName: string } } }).data.payload)
      .filter((payload) => payload.id === waMessageId)
      .map(({ ack, ackName }) => ({ ack, ackName }));

  it('raises the stored ack with one message.ack per step: a repeated or late receipt changes nothing', async () => {
    await recorder.recordOwn(stored('ACK-A'));
    await recorder.recordInbound([
      { kind: 'ack', chat: CHAT, id: 'ACK-A', ack: 2 },
      { kind: 'ack', chat: CHAT, id: 'ACK-A', ack: 2 },
      { kind: 'ack', chat: CHAT, id: 'ACK-A', ack: 3 },
      // The delivery receipt of another device, after the read.
      { kind: 'ack', chat: CHAT, id: 'ACK-A', ack: 2 },
    ]);
    expect(await ackEvents('ACK-A')).toEqual([{ ack: 2, ackName: 'DEVICE' }, { ack: 3, ackName: 'READ' }]);
    expect((await db.storedMessage.findFirst({ where: { orgId, sessionId, waMessageId: 'ACK-A' } }))?.ack).toBe(3);
    expect(published.filter((entry) => entry.type === 'message.ack')).toHaveLength(2);
  });

  it('holds a receipt that overtook the commit of its message, and applies it once the message is stored', async () => {
    await recorder.recordAck('ACK-EARLY', 3);
    expect(await ackEvents('ACK-EARLY')).toEqual([]);
    await recorder.recordSent(stored('ACK-EARLY'), { outboxId: '00000000-0000-7000-8000-000000000000', result: {}, waMessageId: 'ACK-EARLY' });
    expect(await ackEvents('ACK-EARLY')).toEqual([{ ack: 3, ackName: 'READ' }]);
    expect((await db.storedMessage.findFirst({ where: { orgId, sessionId, waMessageId: 'ACK-EARLY' } }))?.ack).toBe(3);
  });

  it('takes no receipt for a message someone else sent', async () => {
    await recorder.recordInbound([{ kind: 'received', message: stored('IN-ACK', { fromMe: false, raw: { key: { id: 'IN-ACK', remoteJid: CHAT, fromMe: false } } }) }]);
    await recorder.recordAck('IN-ACK', 3);
    expect(await ackEvents('IN-ACK')).toEqual([]);
  });
});
