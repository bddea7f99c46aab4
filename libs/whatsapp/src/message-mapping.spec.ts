import { describe, expect, it } from 'vitest';
import type { WAMessage } from '@whiskeysockets/baileys';
import { innerMessage, messageTypeOf, textOf, toStoredMessage } from './message-mapping.js';

describe('message mapping', () => {
  it('reads text from plain, extended, captioned and wrapped messages', () => {
    expect(textOf({ conversation: 'a' })).toBe('a');
    expect(textOf({ extendedTextMessage: { text: 'b' } })).toBe('b');
    expect(textOf({ imageMessage: { caption: 'c' } })).toBe('c');
    expect(textOf(innerMessage({ ephemeralMessage: { message: { viewOnceMessage: { message: { conversation: 'd' } } } } }))).toBe('d');
    expect(messageTypeOf(innerMessage({ ephemeralMessage: { message: { conversation: 'd' } } }))).toBe('conversation');
    expect(messageTypeOf({ messageContextInfo: {}, protocolMessage: { type: 0 } })).toBe('protocolMessage');
  });

  it('stores who sent what where, keeping the PN/LID alternatives of the key', () => {
    const message = {
      key: { remoteJid: '120363@g.us', fromMe: false, id: 'ABC', participant: '111@lid', participantAlt: '15550001111@s.whatsapp.net' },
      message: { conversation: 'hello' },
      messageTimestamp: 1_800_000_000,
      status: 2,
    } as unknown as WAMessage;
    const stored = toStoredMessage(message, '15559990000@s.whatsapp.net');
    expect(stored).toMatchObject({ waMessageId: 'ABC', chatJid: '120363@g.us', senderJid: '111@lid', fromMe: false, messageType: 'conversation', text: 'hello', timestamp: 1_800_000_000, ack: 2 });
    expect((stored.raw as { key: { participantAlt: string } }).key.participantAlt).toBe('15550001111@s.whatsapp.net');
    expect(toStoredMessage({ ...message, key: { ...message.key, fromMe: true } }, '15559990000@s.whatsapp.net').senderJid).toBe('15559990000@s.whatsapp.net');
  });
});
