import { describe, expect, it } from 'vitest';
import { GatewayError } from '@wagw/contracts';
import { checkMedia } from './media-check.js';

const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
// An Ogg page header: what a voice note (Opus in Ogg) starts with.
const ogg = Buffer.concat([Buffer.from('OggS\0\x02', 'binary'), Buffer.alloc(22), Buffer.from('OpusHead', 'binary'), Buffer.alloc(32)]).toString('base64');

async function codeOf(work: Promise<unknown>): Promise<string | null> {
  try {
    await work;
    return null;
  } catch (error) {
    return error instanceof GatewayError ? error.code : 'other';
  }
}

describe('checkMedia', () => {
  it('takes an image whose bytes are its declared type, and answers its size', async () => {
    expect(await checkMedia('image', png, 'image/png')).toBe(Buffer.from(png, 'base64').length);
  });

  it('refuses a type WhatsApp does not show as that kind, and bytes of another type than declared', async () => {
    expect(await codeOf(checkMedia('image', png, 'image/gif'))).toBe('unsupported_media_type');
    expect(await codeOf(checkMedia('image', png, 'image/jpeg'))).toBe('unsupported_media_type');
    expect(await codeOf(checkMedia('audio', png, 'audio/ogg'))).toBe('unsupported_media_type');
    expect(await codeOf(checkMedia('video', Buffer.from('plain text').toString('base64'), 'video/mp4'))).toBe('unsupported_media_type');
  });

  it('takes Ogg audio declared as such, and any document', async () => {
    expect(await codeOf(checkMedia('audio', ogg, 'audio/ogg'))).toBeNull();
    expect(await codeOf(checkMedia('document', Buffer.from('anything').toString('base64'), 'application/x-whatever'))).toBeNull();
  });

  it('refuses an empty file', async () => {
    expect(await codeOf(checkMedia('document', '', 'text/plain'))).toBe('validation_failed');
  });
});
