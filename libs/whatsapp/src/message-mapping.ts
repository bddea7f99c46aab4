import { BufferJSON, proto, type WAMessage } from '@whiskeysockets/baileys';
import { MESSAGE_ACKS, type StoredMedia } from '@wagw/contracts';
import type { NewStoredMessage } from '@wagw/db';

const WRAPPERS = ['ephemeralMessage', 'viewOnceMessage', 'viewOnceMessageV2', 'documentWithCaptionMessage', 'editedMessage'] as const;

/** Peels the envelopes WhatsApp wraps content in (ephemeral, view once, …). */
export function innerMessage(message: proto.IMessage | null | undefined): proto.IMessage | null {
  let current = message ?? null;
  for (let depth = 0; current && depth < 4; depth += 1) {
    const wrapper = WRAPPERS.map((name) => current?.[name]?.message).find((inner) => inner);
    if (!wrapper) break;
    current = wrapper;
  }
  return current;
}

export function messageTypeOf(message: proto.IMessage | null): string {
  if (!message) return 'unknown';
  const type = Object.keys(message).find((key) => key !== 'messageContextInfo' && key !== 'senderKeyDistributionMessage' && message[key as keyof proto.IMessage] != null);
  return type ?? 'unknown';
}

export function textOf(message: proto.IMessage | null): string | null {
  if (!message) return null;
  return (
    message.conversation ??
    message.extendedTextMessage?.text ??
    message.imageMessage?.caption ??
    message.videoMessage?.caption ??
    message.documentMessage?.caption ??
    null
  );
}

/** The message fields that carry an attachment, by the kind each carries. */
export const ATTACHMENT_FIELDS = { imageMessage: 'image', videoMessage: 'video', audioMessage: 'audio', documentMessage: 'document', stickerMessage: 'sticker' } as const;
type AttachmentField = keyof typeof ATTACHMENT_FIELDS;

/** The attachment a message carries, as Baileys decoded it (null: none). */
export function attachmentOf(message: proto.IMessage | null): { field: AttachmentField; content: proto.Message.IImageMessage & proto.Message.IDocumentMessage } | null {
  const field = (Object.keys(ATTACHMENT_FIELDS) as AttachmentField[]).find((name) => message?.[name] != null);
  return field === undefined || !message ? null : { field, content: message[field] as proto.Message.IImageMessage & proto.Message.IDocumentMessage };
}

/** A protobuf uint64 (a number, a string, a Long or its JSON `{low, high}`, depending on the path) as a number; null when absent. */
export function uint64(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') return Number(value);
  if (value && typeof value === 'object' && 'low' in value) {
    const { low, high } = value as { low: number; high?: number };
    return (low >>> 0) + (high ?? 0) * 2 ** 32;
  }
  return null;
}

/** What we store of a message's attachment: kind, type, size, name, caption and the sender's hash. */
export function mediaOf(message: proto.IMessage | null): StoredMedia | null {
  const attachment = attachmentOf(message);
  if (!attachment) return null;
  const { content } = attachment;
  return {
    kind: ATTACHMENT_FIELDS[attachment.field],
    mimetype: content.mimetype ?? null,
    size: uint64(content.fileLength),
    fileName: content.fileName ?? null,
    caption: content.caption ?? null,
    sha256: content.fileSha256 && content.fileSha256.length > 0 ? Buffer.from(content.fileSha256).toString('hex') : null,
  };
}

/** Baileys' message status (ERROR 0 … PLAYED 5) on our ack scale (ERROR -1 … PLAYED 4, as WAHA numbers it). */
export function ackOfStatus(status: number): number {
  return Math.min(MESSAGE_ACKS.PLAYED, Math.max(MESSAGE_ACKS.ERROR, status - 1));
}

function toSeconds(value: WAMessage['messageTimestamp']): number {
  if (value === null || value === undefined) return Math.floor(Date.now() / 1000);
  return typeof value === 'number' ? value : Number(value.toString());
}

/** What we keep of a Baileys message in our own store. */
export function toStoredMessage(message: WAMessage, me: string | null): NewStoredMessage {
  const content = innerMessage(message.message);
  const fromMe = message.key.fromMe === true;
  const chatJid = message.key.remoteJid ?? '';
  return {
    waMessageId: message.key.id ?? '',
    chatJid,
    senderJid: fromMe ? me : (message.key.participant || chatJid) || null,
    fromMe,
    messageType: messageTypeOf(content),
    text: textOf(content),
    media: mediaOf(content),
    timestamp: toSeconds(message.messageTimestamp),
    // A message someone sent us reached this device; our own carries the status Baileys gave it.
    ack: fromMe ? ackOfStatus(message.status ?? proto.WebMessageInfo.Status.PENDING) : MESSAGE_ACKS.DEVICE,
    // The whole WebMessageInfo, as JSON.
    raw: JSON.parse(
      JSON.stringify(
        // The protobuf round trip drops Baileys' key additions (participantAlt, remoteJidAlt,
        // addressingMode): the PN/LID pair of the author is exactly what a group revoke needs later.
        { ...proto.WebMessageInfo.toObject(proto.WebMessageInfo.fromObject(message)), key: { ...message.key } },
        BufferJSON.replacer,
      ),
    ),
  };
}
