import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { messageRevokedWebhookSchema } from '@wagw/contracts';
import { buildMessageRevokedWebhook, toWebhookMessage } from './webhook-mapping.js';

const validate = new Ajv2020({ strict: false }).compile(messageRevokedWebhookSchema);

const original = {
  key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'ORIGINAL1' },
  message: { conversation: 'the original text' },
  messageTimestamp: { low: 1_800_000_000, high: 0, unsigned: true },
  pushName: 'Alice',
};
const revoke = {
  key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'REVOKE1' },
  message: { protocolMessage: { key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: true, id: 'ORIGINAL1' }, type: 0 } },
  messageTimestamp: 1_800_000_100,
  pushName: 'Alice',
};
const session = { id: '0190f5c2-7a8b-7c3d-9e1f-2a3b4c5d6e7f', createdBy: 'user-1', metadata: { team: 'eu' }, meJid: '15550001111@s.whatsapp.net', mePushName: 'Shop' };

describe('message.revoked webhook body', () => {
  it('matches the seed: before from our store, after is the revoke, _data raw, protocol type as a name', () => {
    const body = buildMessageRevokedWebhook({ eventId: 'evt-1', session, revoke: { raw: revoke, ack: 2 }, original: { raw: original, ack: 2 } });
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    expect(body).toMatchObject({
      event: 'message.revoked',
      data: {
        id: 'evt-1',
        event: 'message.revoked',
        metadata: [{ team: 'eu' }],
        me: { id: '15550001111@s.whatsapp.net', pushName: 'Shop' },
        instanceId: session.id,
        userId: 'user-1',
        payload: {
          before: { id: 'ORIGINAL1', body: 'the original text', fromMe: false, from: '15550002222@s.whatsapp.net', to: '15550001111@s.whatsapp.net', timestamp: 1_800_000_000 },
          after: { id: 'REVOKE1', fromMe: false, body: '' },
          _data: { key: { id: 'REVOKE1' }, message: { protocolMessage: { type: 'REVOKE', key: { id: 'ORIGINAL1' } } } },
        },
      },
    });
  });

  it('sends before as {} when we never saw the original', () => {
    const body = buildMessageRevokedWebhook({ eventId: 'evt-2', session, revoke: { raw: revoke, ack: 2 }, original: null });
    expect(validate(body)).toBe(true);
    expect(body.data.payload.before).toEqual({});
  });

  it('the schema refuses a body without payload.before, or with an unknown field', () => {
    const body = buildMessageRevokedWebhook({ eventId: 'evt-3', session, revoke: { raw: revoke, ack: 2 }, original: { raw: original, ack: 2 } });
    const { before: _dropped, ...payloadWithoutBefore } = body.data.payload;
    expect(validate({ ...body, data: { ...body.data, payload: payloadWithoutBefore } })).toBe(false);
    expect(validate({ ...body, data: { ...body.data, extra: 1 } })).toBe(false);
  });

  it('maps our own messages from us to the chat, with the ack from our store named as WAHA names it', () => {
    const mine = toWebhookMessage({ ...original, key: { ...original.key, fromMe: true } }, 1, session);
    expect(mine).toMatchObject({ from: session.meJid, to: '15550002222@s.whatsapp.net', ack: 1, ackName: 'SERVER' });
    expect(['ERROR', 'PENDING', 'SERVER', 'DEVICE', 'READ', 'PLAYED'].map((_, index) => toWebhookMessage(original, index - 1, session).ackName)).toEqual(['ERROR', 'PENDING', 'SERVER', 'DEVICE', 'READ', 'PLAYED']);
  });

  it("describes a message's attachment in media (type, file name, our media endpoint), and none for a text", () => {
    const document = { ...original, message: { documentMessage: { mimetype: 'application/pdf', fileName: 'invoice.pdf', caption: 'your invoice' } } };
    expect(toWebhookMessage(document, 2, session)).toMatchObject({ hasMedia: true, body: 'your invoice', media: { url: `/api/v1/sessions/${session.id}/messages/${original.key.id}/media`, mimetype: 'application/pdf', filename: 'invoice.pdf' } });
    expect(toWebhookMessage(original, 2, session)).toMatchObject({ hasMedia: false, media: {} });
  });
});
