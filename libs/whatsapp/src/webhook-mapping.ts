import { BufferJSON, proto } from '@whiskeysockets/baileys';
import { ackName, mediaPath, webhookEnvelope, type EventSession, type MessageAckWebhook, type MessageEditedWebhook, type MessageReactionWebhook, type MessageReceivedWebhook, type MessageRevokedWebhook, type WebhookMessage, type WebhookRawMessage } from '@wagw/contracts';
import { attachmentOf, innerMessage, textOf, uint64 } from './message-mapping.js';

interface StoredRaw {
  key?: { remoteJid?: string | null; fromMe?: boolean | null; id?: string | null; participant?: string | null };
  message?: unknown;
  messageTimestamp?: unknown;
  pushName?: string | null;
  broadcast?: boolean | null;
}

/** The raw message as the webhook's `_data`: enums as names, 64-bit numbers as numbers, bytes as base64. */
export function toWebhookRaw(storedRaw: unknown): WebhookRawMessage {
  const raw = JSON.parse(JSON.stringify(storedRaw ?? {}), BufferJSON.reviver) as StoredRaw;
  const info = proto.WebMessageInfo.fromObject({ ...(raw as object), key: { ...raw.key } });
  const message = info.message ? (proto.Message.toObject(proto.Message.fromObject(info.message), { enums: String, longs: Number, bytes: String }) as Record<string, unknown>) : undefined;
  return {
    key: {
      remoteJid: raw.key?.remoteJid ?? '',
      fromMe: raw.key?.fromMe === true,
      id: raw.key?.id ?? '',
      // Every key the reference shows, always: "" where WhatsApp gave none (a 1:1 chat has no
      // participant, our own messages no pushName), so consumers typed from the reference never miss one.
      participant: raw.key?.participant ?? '',
    },
    messageTimestamp: uint64(raw.messageTimestamp) ?? 0,
    pushName: raw.pushName ?? '',
    broadcast: raw.broadcast === true,
    message: message ?? {},
  };
}

/**
 * A stored message (its `raw`, `ack` and, once edited, its `text`) of `session` in the webhook's message
 * shape (`payload.after` / `payload.before`).
 */
export function toWebhookMessage(storedRaw: unknown, ack: number, session: Pick<EventSession, 'id' | 'meJid'>, text?: string | null): WebhookMessage {
  const me = session.meJid;
  const data = toWebhookRaw(storedRaw);
  const content = innerMessage(proto.Message.fromObject(data.message));
  const chat = data.key.remoteJid;
  const fromMe = data.key.fromMe;
  const attachment = attachmentOf(content)?.content;
  return {
    id: data.key.id,
    timestamp: data.messageTimestamp,
    from: fromMe ? me : chat,
    fromMe,
    // The stored text is the edited one; `raw` keeps what WhatsApp first delivered.
    body: text ?? textOf(content) ?? '',
    to: fromMe ? chat : me,
    participant: data.key.participant ?? '',
    hasMedia: attachment !== undefined,
    // `url`: the gateway's media endpoint, relative to its base URL (the webhook does not know how it is reached).
    media: attachment === undefined ? {} : { url: mediaPath(session.id, data.key.id), mimetype: attachment.mimetype ?? null, filename: attachment.fileName ?? null },
    ack,
    ackName: ackName(ack),
    replyTo: content?.extendedTextMessage?.contextInfo?.stanzaId ?? '',
    _data: data,
  };
}

export interface RevokedEventInput {
  eventId: string;
  session: EventSession;
  /** The revoke (protocol message) as stored. */
  revoke: StoredForWebhook;
  /** The original as stored, or null when we never saw it. */
  original: StoredForWebhook | null;
}

/** What a webhook shows of a stored message. */
export interface StoredForWebhook {
  raw: unknown;
  ack: number;
  /** The stored text, when it can differ from `raw`'s (an edit replaced it). */
  text?: string | null;
}

/** The `message.revoked` body exactly as the webhook reference describes it. */
export function buildMessageRevokedWebhook(input: RevokedEventInput): MessageRevokedWebhook {
  return webhookEnvelope('message.revoked', input.eventId, input.session, {
    after: toWebhookMessage(input.revoke.raw, input.revoke.ack, input.session),
    before: input.original === null ? {} : toWebhookMessage(input.original.raw, input.original.ack, input.session, input.original.text),
    _data: toWebhookRaw(input.revoke.raw),
  });
}

export function buildMessageReceivedWebhook(input: { eventId: string; session: EventSession; message: StoredForWebhook }): MessageReceivedWebhook {
  return webhookEnvelope('message.received', input.eventId, input.session, toWebhookMessage(input.message.raw, input.message.ack, input.session));
}

/** `message.ack`: the stored message with the ack it just reached. */
export function buildMessageAckWebhook(input: { eventId: string; session: EventSession; message: StoredForWebhook }): MessageAckWebhook {
  return webhookEnvelope('message.ack', input.eventId, input.session, toWebhookMessage(input.message.raw, input.message.ack, input.session, input.message.text));
}

/** `message.reaction`: the reaction as a message, with what it reacts to and the emoji ("" when taken back). */
export function buildMessageReactionWebhook(input: { eventId: string; session: EventSession; message: StoredForWebhook; target: string; emoji: string }): MessageReactionWebhook {
  const reaction = toWebhookMessage(input.message.raw, input.message.ack, input.session);
  return webhookEnvelope('message.reaction', input.eventId, input.session, { ...reaction, reaction: { text: input.emoji, messageId: input.target } });
}

/** `message.edited`: the edit as a message whose body is the new text, naming the message it edits. */
export function buildMessageEditedWebhook(input: { eventId: string; session: EventSession; message: StoredForWebhook; target: string; text: string }): MessageEditedWebhook {
  const edit = toWebhookMessage(input.message.raw, input.message.ack, input.session);
  return webhookEnvelope('message.edited', input.eventId, input.session, { ...edit, body: input.text, editedMessageId: input.target });
}
