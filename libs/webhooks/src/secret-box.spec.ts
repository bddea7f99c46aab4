import { describe, expect, it } from 'vitest';
import { generateSecretKey, openSecret, parseSecretKey, sealSecret } from './secret-box.js';

describe('secret box', () => {
  const key = parseSecretKey(generateSecretKey());

  it('round-trips, and never stores the plaintext', () => {
    const sealed = sealSecret('whsec_topsecret', key);
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('topsecret');
    expect(openSecret(sealed, key)).toBe('whsec_topsecret');
    expect(sealSecret('whsec_topsecret', key)).not.toBe(sealed);
  });

  it('refuses another key and tampered data', () => {
    const sealed = sealSecret('whsec_x', key);
    expect(() => openSecret(sealed, parseSecretKey(generateSecretKey()))).toThrow();
    const bytes = Buffer.from(sealed.slice(3), 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(() => openSecret(`v1:${bytes.toString('base64')}`, key)).toThrow();
  });

  it('insists on a 32-byte key', () => {
    expect(() => parseSecretKey(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
