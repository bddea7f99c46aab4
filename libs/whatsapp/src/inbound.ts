import { proto, type AnyMessageContent, type MessageUserReceiptUpdate, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import { MESSAGE_ACKS, type MediaKind } from '@wagw/contracts';
import type { NewStoredMessage } from '@wagw/db';
import { bareJid } from './jids.js';
import { ackOfStatus, innerMessage, messageTypeOf, textOf, toStoredMessage } from './message-mapping.js';

/**
 * What a session hears from WhatsApp and what it sent, in our own terms: nothing outside this library
 * sees a Baileys type, tests a Baileys enum or builds a Baileys key.
 */
export type InboundEvent =
  /** A revoke (the protocol message), whoever sent it: `target` is the id of the message it deletes. */
  | { kind: 'revoke'; message: NewStoredMessage; target: string; fromMe: boolean; author: string | null }
  /** Someone else's message with content (not a protocol or key-distribution message). */
  | { kind: 'received'; message: NewStoredMessage }
  /** Our own message (sent here or from the phone): stored, no event. */
  | { kind: 'own'; message: NewStoredMessage }
  /** WhatsApp says a stored message was revoked, without the revoke itself (Baileys' update form). */
  | { kind: 'original_revoked'; chat: string; id: string; by: string }
  /** One of our messages got further (a receipt: delivered, read, played): `ack` on our scale (MESSAGE_ACKS). */
  | { kind: 'ack'; chat: string; id: string; ack: number }
  /** A reaction to message `target` (`emoji` empty: taken back). */
  | { kind: 'reaction'; message: NewStoredMessage; target: string; emoji: string }
  /** An edit of message `target`'s text, by its author. */
  | { kind: 'edit'; message: NewStoredMessage; target: string; text: string };

/** A message we sent, once WhatsApp acknowledged it. */
export interface SentMessage {
  waMessageId: string;
  /** Unix seconds. */
  timestamp: number;
  message: NewStoredMessage;
}

/** Baileys' stub type of a message deleted for everyone (`REVOKE`), as `messages.update` reports it. */
const STUB_REVOKE = proto.WebMessageInfo.StubType.REVOKE;

/** One upserted Baileys message as an event, or null when there is nothing to record. */
export function classifyUpsert(message: WAMessage, me: string | null): InboundEvent | null {
  const stored = toStoredMessage(message, me);
  if (!stored.waMessageId || !stored.chatJid) return null;
  const protocol = message.message?.protocolMessage;
  if (protocol?.type === proto.Message.ProtocolMessage.Type.REVOKE) {
    const target = protocol.key?.id;
    if (!target) return null;
    return { kind: 'revoke', message: stored, target, fromMe: message.key.fromMe === true, author: message.key.participant || message.key.remoteJid || null };
  }
  if (protocol?.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT) {
    const target = protocol.key?.id;
    const text = textOf(innerMessage(protocol.editedMessage));
    return target && text !== null ? { kind: 'edit', message: stored, target, text } : null;
  }
  const reaction = innerMessage(message.message)?.reactionMessage;
  if (reaction) return reaction.key?.id ? { kind: 'reaction', message: stored, target: reaction.key.id, emoji: reaction.text ?? '' } : null;
  // Any other protocol message is traffic between devices (the phone's app-state key share, history
  // sync notices, ephemeral settings): nobody wrote it, so it is no message of the chat.
  if (!message.message || protocol) return null;
  if (message.key.fromMe === true) return { kind: 'own', message: stored };
  // A sender key on its own (a group's first message carries it beside the content) has nothing to show.
  return messageTypeOf(innerMessage(message.message)) === 'unknown' ? null : { kind: 'received', message: stored };
}

/**
 * A `messages.update` entry as an event: a revoke of the original, or a receipt for one of our messages
 * (Baileys reports a 1:1 chat's receipts so; a group's come per member, as `message-receipt.update`).
 */
export function classifyUpdate(key: WAMessageKey, update: Partial<WAMessage>): InboundEvent | null {
  if (!key.id || !key.remoteJid) return null;
  if (update.messageStubType === STUB_REVOKE) return { kind: 'original_revoked', chat: key.remoteJid, id: key.id, by: key.participant || key.remoteJid };
  if (key.fromMe !== true || typeof update.status !== 'number') return null;
  const ack = ackOfStatus(update.status);
  return ack > MESSAGE_ACKS.SERVER ? { kind: 'ack', chat: key.remoteJid, id: key.id, ack } : null;
}

/**
 * A group member's receipt for one of our messages (Baileys' `message-receipt.update`) as an ack: the
 * group message's stored ack is how far it got with its furthest member (DEVICE once one member's
 * device has it, READ once one read or played it). Our own devices' receipts (`me`) say nothing about
 * the recipients and are skipped.
 */
export function classifyReceipt(update: MessageUserReceiptUpdate, me: readonly string[]): InboundEvent | null {
  const { key, receipt } = update;
  if (!key.id || !key.remoteJid || key.fromMe !== true || !receipt.userJid || me.includes(bareJid(receipt.userJid))) return null;
  const ack = receipt.playedTimestamp ? MESSAGE_ACKS.PLAYED : receipt.readTimestamp ? MESSAGE_ACKS.READ : receipt.receiptTimestamp ? MESSAGE_ACKS.DEVICE : null;
  return ack === null ? null : { kind: 'ack', chat: key.remoteJid, id: key.id, ack };
}

/** A sent Baileys message as we report it. */
export function toSentMessage(message: WAMessage, me: string | null): SentMessage {
  // Reported once WhatsApp's server acknowledged it.
  const stored = { ...toStoredMessage(message, me), ack: MESSAGE_ACKS.SERVER };
  return { waMessageId: stored.waMessageId, timestamp: stored.timestamp, message: stored };
}

/** The stored raw message (`StoredMessage.raw`) as Baileys needs it to quote it; null without a key. */
export function quotableFromRaw(raw: unknown): WAMessage | null {
  const info = raw as (object & { key?: WAMessageKey }) | null | undefined;
  if (!info?.key) return null;
  return { ...(proto.WebMessageInfo.fromObject(info) as WAMessage), key: info.key };
}

/** The content of a stored raw message, as Baileys asks for it to answer a peer's retry request. */
export function contentFromRaw(raw: unknown): proto.IMessage | undefined {
  const info = raw as { message?: object } | null | undefined;
  return info?.message ? proto.Message.fromObject(info.message) : undefined;
}

/** The key of the message a revoke deletes: ours (`sender` empty) or, as a group admin, a member's. */
export function revokeKey(chat: string, target: { messageId: string; sender?: string | undefined }): WAMessageKey {
  const fromMe = target.sender === undefined || target.sender === '';
  return { remoteJid: chat, id: target.messageId, fromMe, ...(fromMe ? {} : { participant: target.sender }) };
}

/** The key of a message someone else sent, as a read receipt names it (`sender`: its author in a group). */
export function readKey(chat: string, message: { id: string; sender?: string | undefined }): WAMessageKey {
  return { remoteJid: chat, id: message.id, fromMe: false, ...(message.sender ? { participant: message.sender } : {}) };
}

/** The key of a message a reaction names: ours, or (`sender` set in a group, else the chat) someone else's. */
export function reactionKey(chat: string, target: { id: string; fromMe: boolean; sender?: string | undefined }): WAMessageKey {
  return { remoteJid: chat, id: target.id, fromMe: target.fromMe, ...(target.sender ? { participant: target.sender } : {}) };
}

/** An attachment to send, in our terms. */
export interface OutgoingMedia {
  kind: MediaKind;
  bytes: Buffer;
  mimetype: string;
  caption?: string | undefined;
  fileName?: string | undefined;
  voiceNote?: boolean | undefined;
}

/** An attachment as Baileys sends it. */
export function mediaContent(media: OutgoingMedia): AnyMessageContent {
  const caption = media.caption === undefined ? {} : { caption: media.caption };
  switch (media.kind) {
    case 'image':
      return { image: media.bytes, mimetype: media.mimetype, ...caption };
    case 'video':
      return { video: media.bytes, mimetype: media.mimetype, ...caption };
    case 'audio':
      return { audio: media.bytes, mimetype: media.mimetype, ptt: media.voiceNote === true };
    case 'document':
      return { document: media.bytes, mimetype: media.mimetype, fileName: media.fileName ?? 'file', ...caption };
  }
}
