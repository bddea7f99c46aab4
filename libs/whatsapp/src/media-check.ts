import { fileTypeFromBuffer } from 'file-type';
import { GatewayError, type MediaKind } from '@wagw/contracts';

/** The types WhatsApp shows inline for each kind (a document may be anything). */
const ACCEPTED: Record<Exclude<MediaKind, 'document'>, ReadonlySet<string>> = {
  image: new Set(['image/jpeg', 'image/png', 'image/webp']),
  video: new Set(['video/mp4', 'video/3gpp']),
  audio: new Set(['audio/ogg', 'audio/mpeg', 'audio/mp4', 'audio/aac', 'audio/x-m4a']),
};

/** Some sniffed types go by another name in WhatsApp's. */
const ALIASES: Record<string, string> = { 'audio/x-m4a': 'audio/mp4', 'audio/opus': 'audio/ogg', 'video/quicktime': 'video/mp4' };

/** A type without its parameters (`audio/ogg; codecs=opus` is `audio/ogg`), under WhatsApp's name for it. */
function canonical(mimetype: string): string {
  const bare = mimetype.split(';')[0]?.trim().toLowerCase() ?? '';
  return ALIASES[bare] ?? bare;
}

/**
 * Checks an attachment (base64, as the request schema checked) before anything is written: not empty,
 * and for images, video and audio, bytes whose sniffed type is one WhatsApp shows as that kind and is
 * the one declared. Answers the decoded size; `unsupported_media_type` (415) for a type that does not fit.
 */
export async function checkMedia(kind: MediaKind, data: string, declaredMimetype: string): Promise<number> {
  return checkMediaBytes(kind, Buffer.from(data, 'base64'), declaredMimetype);
}

/** `checkMedia` for bytes in hand (an attachment the worker fetched from its URL). */
export async function checkMediaBytes(kind: MediaKind, bytes: Buffer, declaredMimetype: string): Promise<number> {
  if (bytes.length === 0) throw new GatewayError('validation_failed', `${kind}.data is empty`, { field: `${kind}.data` });
  if (kind === 'document') return bytes.length;
  const declared = canonical(declaredMimetype);
  if (!ACCEPTED[kind].has(declared)) {
    throw new GatewayError('unsupported_media_type', `WhatsApp does not show ${declaredMimetype} as ${kind === 'image' ? 'an' : 'a'} ${kind}; accepted: ${[...ACCEPTED[kind]].join(', ')} (send other files as a document)`, { field: `${kind}.mimetype`, accepted: [...ACCEPTED[kind]] });
  }
  const sniffed = await fileTypeFromBuffer(bytes);
  if (!sniffed || canonical(sniffed.mime) !== declared) {
    throw new GatewayError('unsupported_media_type', `the ${kind}'s bytes are ${sniffed ? sniffed.mime : 'of no type we recognise'}, not the declared ${declaredMimetype}`, { field: `${kind}.data`, declared: declaredMimetype, detected: sniffed?.mime ?? null });
  }
  return bytes.length;
}

/**
 * The type of an attachment fetched from a URL when the caller declared none: for an image, video or
 * audio what its bytes are (then checked as any declared type is), for a document what the server
 * said it is.
 */
export async function mimetypeOfFetched(kind: MediaKind, bytes: Buffer, contentType: string | null): Promise<string> {
  if (kind !== 'document') {
    const sniffed = await fileTypeFromBuffer(bytes);
    if (sniffed) return sniffed.mime;
  }
  return contentType ?? 'application/octet-stream';
}
