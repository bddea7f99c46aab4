import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `wagw_3f9a1c0b7e2d_<43 base64url chars>`: the visible prefix finds the row, the
 * 256-bit secret after it is only ever stored hashed.
 */
const API_KEY = /^(wagw_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  /** Shown to the caller once; never stored. */
  key: string;
  prefix: string;
  secretHash: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): GeneratedApiKey {
  const prefix = `wagw_${randomBytes(6).toString('hex')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, secretHash: hashApiKey(key) };
}

/** The prefix of a well-formed key, or null for anything else (a JWT, garbage). */
export function apiKeyPrefix(token: string): string | null {
  return API_KEY.exec(token)?.[1] ?? null;
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const given = Buffer.from(hashApiKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
