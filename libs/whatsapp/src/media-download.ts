import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BufferJSON, getMediaKeys, proto } from '@whiskeysockets/baileys';
import { request, type Dispatcher } from 'undici';
import { GatewayError } from '@wagw/contracts';
import { ATTACHMENT_FIELDS, attachmentOf, innerMessage } from './message-mapping.js';

/** WhatsApp's media MAC: the first 10 bytes of an HMAC-SHA256, appended to the ciphertext. */
const MAC_BYTES = 10;
/** AES-CBC pads the plaintext to the next 16 bytes. */
const PADDING_BYTES = 16;

export interface MediaDownloadLimits {
  /** The largest plaintext taken; a larger attachment is refused before (declared size) or while (actual) downloading. */
  maxBytes: number;
  timeoutMs: number;
  /** For a media host of one's own authority (the emulator's): see whatsAppEndpointOptions. */
  dispatcher?: Dispatcher | undefined;
}

export interface DownloadedMedia {
  bytes: Buffer;
  mimetype: string;
}

function unavailable(message: string, details: Record<string, unknown> = {}): GatewayError {
  return new GatewayError('media_unavailable', message, details);
}

/**
 * The attachment of a stored message (its `raw`), downloaded from WhatsApp's media host `host` by its
 * direct path (never by the URL in the message, which its sender chose) and opened as a phone opens it:
 * the encrypted file's hash, then its MAC, then the plaintext's hash checked against what the sender
 * declared. Throws `not_found` without an attachment, `payload_too_large` over the limit and
 * `media_unavailable` when the host no longer has it or it fails a check.
 */
export async function downloadAttachment(storedRaw: unknown, host: string, limits: MediaDownloadLimits): Promise<DownloadedMedia> {
  const raw = JSON.parse(JSON.stringify(storedRaw ?? {}), BufferJSON.reviver) as { message?: object | null };
  const attachment = attachmentOf(innerMessage(raw.message ? proto.Message.fromObject(raw.message) : null));
  const media = attachment?.content;
  if (!attachment || !media?.mediaKey?.length || !media.directPath) throw new GatewayError('not_found', 'the message carries no attachment');
  const declared = Number(media.fileLength ?? 0);
  if (declared > limits.maxBytes) throw new GatewayError('payload_too_large', `the attachment is ${declared} bytes; this gateway takes at most ${limits.maxBytes} (MEDIA_MAX_BYTES)`, { size: declared, limit: limits.maxBytes });
  const encrypted = await fetchEncrypted(`https://${host}${media.directPath}`, limits);
  if (media.fileEncSha256?.length && !createHash('sha256').update(encrypted).digest().equals(Buffer.from(media.fileEncSha256))) throw unavailable('the downloaded attachment does not match its hash');
  const { iv, cipherKey, macKey } = await getMediaKeys(media.mediaKey, ATTACHMENT_FIELDS[attachment.field]);
  if (!macKey || encrypted.length < MAC_BYTES + PADDING_BYTES) throw unavailable('the downloaded attachment is not an encrypted file');
  const ciphertext = encrypted.subarray(0, encrypted.length - MAC_BYTES);
  const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, MAC_BYTES);
  if (!timingSafeEqual(mac, encrypted.subarray(encrypted.length - MAC_BYTES))) throw unavailable('the downloaded attachment fails its MAC check');
  let bytes: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
    bytes = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw unavailable('the downloaded attachment does not decrypt');
  }
  if (media.fileSha256?.length && !createHash('sha256').update(bytes).digest().equals(Buffer.from(media.fileSha256))) throw unavailable('the decrypted attachment does not match the hash its sender declared');
  return { bytes, mimetype: media.mimetype || 'application/octet-stream' };
}

/** The encrypted file, at most the limit's worth (plus padding and MAC) read. */
async function fetchEncrypted(url: string, limits: MediaDownloadLimits): Promise<Buffer> {
  const ceiling = limits.maxBytes + PADDING_BYTES + MAC_BYTES;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { method: 'GET', signal: AbortSignal.timeout(limits.timeoutMs), ...(limits.dispatcher ? { dispatcher: limits.dispatcher } : {}) });
  } catch (error) {
    throw unavailable(`WhatsApp's media host did not answer: ${(error as Error).message}`);
  }
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw unavailable(
      response.statusCode === 404 || response.statusCode === 410 ? 'WhatsApp no longer has this attachment (media expires some weeks after it was sent)' : `WhatsApp's media host answered ${response.statusCode}`,
      { status: response.statusCode },
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > ceiling) {
      response.body.destroy();
      throw new GatewayError('payload_too_large', `the attachment is over ${limits.maxBytes} bytes (MEDIA_MAX_BYTES)`, { limit: limits.maxBytes });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
