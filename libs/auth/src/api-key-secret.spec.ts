import { describe, expect, it } from 'vitest';
import { apiKeyMatches, apiKeyPrefix, generateApiKey, hashApiKey } from './api-key-secret.js';

describe('API key secrets', () => {
  it('generates keys with a visible prefix and a hash, never storing the secret', () => {
    const { key, prefix, secretHash } = generateApiKey();
    expect(key).toMatch(/^wagw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`${prefix}_`)).toBe(true);
    expect(secretHash).toBe(hashApiKey(key));
    expect(secretHash).not.toContain(key.slice(prefix.length + 1));
  });

  it('generates a different key every time', () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateApiKey().key));
    expect(keys.size).toBe(100);
  });

  it('reads the prefix only from well-formed keys', () => {
    const { key, prefix } = generateApiKey();
    expect(apiKeyPrefix(key)).toBe(prefix);
    expect(apiKeyPrefix('eyJhbGciOiJSUzI1NiJ9.e30.sig')).toBeNull();
    expect(apiKeyPrefix(`${key}x`)).toBeNull();
    expect(apiKeyPrefix(key.toUpperCase())).toBeNull();
  });

  it('matches only the exact key', () => {
    const { key, secretHash } = generateApiKey();
    expect(apiKeyMatches(key, secretHash)).toBe(true);
    expect(apiKeyMatches(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`, secretHash)).toBe(false);
    expect(apiKeyMatches(key, 'not-hex')).toBe(false);
  });
});
