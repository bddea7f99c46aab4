import { describe, expect, it } from 'vitest';
import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { classifyReceipt, classifyUpdate, classifyUpsert } from './inbound.js';

const me = '15550001111:12@s.whatsapp.net';
const peer = '15550002222@s.whatsapp.net';
const upsert = (fromMe: boolean, message: proto.IMessage, remoteJid = peer): WAMessage => ({ key: { remoteJid, fromMe, id: 'ABC123' }, message, messageTimestamp: 1_700_000_000 });

describe('classifyUpsert', () => {
  it("reports a peer's text as received and our own as own", () => {
    expect(classifyUpsert(upsert(false, { conversation: 'hi' }), me)?.kind).toBe('received');
    expect(classifyUpsert(upsert(true, { conversation: 'hi' }), me)?.kind).toBe('own');
  });

  it('reports a revoke with its target and who sent it', () => {
    const revoke = upsert(false, { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: peer, fromMe: true, id: 'TARGET' } } });
    expect(classifyUpsert(revoke, me)).toMatchObject({ kind: 'revoke', target: 'TARGET', fromMe: false, author: peer });
  });

  it("records no protocol traffic between the account's own devices (the phone's app-state key share)", () => {
    const keyShare = upsert(true, { protocolMessage: { type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE, appStateSyncKeyShare: { keys: [] } } }, '15550001111@s.whatsapp.net');
    expect(classifyUpsert(keyShare, me)).toBeNull();
  });

  it('reports a reaction with what it reacts to (an empty one takes it back), not as a received message', () => {
    const reaction = upsert(false, { reactionMessage: { key: { remoteJid: peer, fromMe: true, id: 'TARGET' }, text: '👍' } });
    expect(classifyUpsert(reaction, me)).toMatchObject({ kind: 'reaction', target: 'TARGET', emoji: '👍' });
    const removed = upsert(false, { reactionMessage: { key: { remoteJid: peer, fromMe: true, id: 'TARGET' }, text: '' } });
    expect(classifyUpsert(removed, me)).toMatchObject({ kind: 'reaction', emoji: '' });
  });

  it('reports an edit with the message it edits and the new text', () => {
    const edit = upsert(false, { protocolMessage: { type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT, key: { remoteJid: peer, fromMe: true, id: 'TARGET' }, editedMessage: { conversation: 'fixed' } } });
    expect(classifyUpsert(edit, me)).toMatchObject({ kind: 'edit', target: 'TARGET', text: 'fixed' });
  });

  it('records no sender key that came without content', () => {
    const distribution = upsert(false, { senderKeyDistributionMessage: { groupId: '1203630@g.us', axolotlSenderKeyDistributionMessage: new Uint8Array([1]) } });
    expect(classifyUpsert(distribution, me)).toBeNull();
  });
});

describe('classifyUpdate', () => {
  it('reports the "revoked" stub of a stored message', () => {
    expect(classifyUpdate({ remoteJid: peer, id: 'X', fromMe: true }, { messageStubType: proto.WebMessageInfo.StubType.REVOKE })).toEqual({ kind: 'original_revoked', chat: peer, id: 'X', by: peer });
  });

  it("reports a receipt for our own message on WAHA's ack scale, and nothing for a peer's message or below DEVICE", () => {
    const { Status } = proto.WebMessageInfo;
    expect(classifyUpdate({ remoteJid: peer, id: 'X', fromMe: true }, { status: Status.DELIVERY_ACK })).toEqual({ kind: 'ack', chat: peer, id: 'X', ack: 2 });
    expect(classifyUpdate({ remoteJid: peer, id: 'X', fromMe: true }, { status: Status.READ })).toMatchObject({ ack: 3 });
    expect(classifyUpdate({ remoteJid: peer, id: 'X', fromMe: true }, { status: Status.PLAYED })).toMatchObject({ ack: 4 });
    expect(classifyUpdate({ remoteJid: peer, id: 'X', fromMe: false }, { status: Status.READ })).toBeNull();
    expect(classifyUpdate({ remoteJid: peer, id: 'X', fromMe: true }, { status: Status.SERVER_ACK })).toBeNull();
    expect(classifyUpdate({ remoteJid: peer, id: 'X', fromMe: true }, { status: Status.ERROR })).toBeNull();
  });
});

describe('classifyReceipt (a group member\'s receipt)', () => {
  const group = '120363025246125888@g.us';
  const me = ['15550001111@s.whatsapp.net', '71234567890123@lid'];
  const ours = { remoteJid: group, id: 'M1', fromMe: true };

  it("is an ack of our message: DEVICE for a delivery, READ for a read, PLAYED for a play", () => {
    expect(classifyReceipt({ key: ours, receipt: { userJid: '15550002222@s.whatsapp.net', receiptTimestamp: 1 } }, me)).toEqual({ kind: 'ack', chat: group, id: 'M1', ack: 2 });
    expect(classifyReceipt({ key: ours, receipt: { userJid: '15550002222@s.whatsapp.net', readTimestamp: 2 } }, me)).toEqual({ kind: 'ack', chat: group, id: 'M1', ack: 3 });
    expect(classifyReceipt({ key: ours, receipt: { userJid: '15550002222@s.whatsapp.net', playedTimestamp: 3 } }, me)).toEqual({ kind: 'ack', chat: group, id: 'M1', ack: 4 });
  });

  it("is nothing from one of our own devices (by number or LID, any device), or about someone else's message", () => {
    expect(classifyReceipt({ key: ours, receipt: { userJid: '15550001111:3@s.whatsapp.net', readTimestamp: 2 } }, me)).toBeNull();
    expect(classifyReceipt({ key: ours, receipt: { userJid: '71234567890123@lid', readTimestamp: 2 } }, me)).toBeNull();
    expect(classifyReceipt({ key: { ...ours, fromMe: false }, receipt: { userJid: '15550002222@s.whatsapp.net', readTimestamp: 2 } }, me)).toBeNull();
  });
});
