import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/** The deployment's key for secrets at rest: 32 bytes, given base64 (`WEBHOOK_SECRET_KEY`). */
export function parseSecretKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error('WEBHOOK_SECRET_KEY must be 32 bytes, base64-encoded');
  return key;
}

export function generateSecretKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * Encrypts a secret that must be recoverable (webhook signing secrets: we sign with them, so they
 * cannot be hashed). AES-256-GCM; the stored form is `v1:` + base64(iv ‖ tag ‖ ciphertext).
 */
export function sealSecret(plaintext: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
}

export function openSecret(sealed: string, key: Buffer): string {
  const [version, payload] = sealed.split(':');
  if (version !== VERSION || !payload) throw new Error('unknown secret format');
  const bytes = Buffer.from(payload, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
}
