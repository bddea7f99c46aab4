import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwksKeyCache } from './jwks-key-cache.js';

/** A frontend's JWKS endpoint whose keys and health the test controls, counting fetches. */
class ControlledJwks {
  keys: JWK[] = [];
  failing = false;
  fetches = 0;
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((_request, response) => {
      this.fetches += 1;
      if (this.failing) response.writeHead(503).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.url = `http://127.0.0.1:${address.port}/jwks.json`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

async function signingKey(): Promise<JWK> {
  const { publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

const MAX_AGE_MS = 600_000;
const INTERVAL_MS = 12_000;

describe('JwksKeyCache: no caller can deny valid tokens their key', () => {
  const jwks = new ControlledJwks();
  let realKey: JWK;
  let clock = 1_000_000;
  const cache = (): JwksKeyCache => new JwksKeyCache({ url: jwks.url, maxAgeMs: MAX_AGE_MS, refetchIntervalMs: INTERVAL_MS, timeoutMs: 2_000, now: () => clock });
  const flood = (keys: JwksKeyCache, count: number): Promise<Array<string | null>> => Promise.all(Array.from({ length: count }, () => keys.keyFor(randomUUID())));

  beforeAll(async () => {
    await jwks.start();
    realKey = await signingKey();
  });
  afterAll(() => jwks.stop());

  it('cold: a flood of made-up kids causes one fetch, and the real key is served right after', async () => {
    jwks.keys = [realKey];
    jwks.fetches = 0;
    const keys = cache();
    expect((await flood(keys, 200)).every((key) => key === null)).toBe(true);
    expect(await keys.keyFor(realKey.kid)).toContain('BEGIN PUBLIC KEY');
    expect(jwks.fetches).toBe(1);
  });

  it('warm, keys aged out: a flood first, and the real key is still served, refreshed in the background', async () => {
    jwks.keys = [realKey];
    const keys = cache();
    expect(await keys.keyFor(realKey.kid)).not.toBeNull();
    jwks.fetches = 0;
    clock += MAX_AGE_MS + 1;
    expect((await flood(keys, 200)).every((key) => key === null)).toBe(true);
    expect(await keys.keyFor(realKey.kid)).not.toBeNull();
    // One refresh of the aged keys and one fetch for unknown kids, in all: the budgets are apart.
    expect(jwks.fetches).toBeLessThanOrEqual(2);
    for (let round = 0; round < 100; round += 1) await keys.keyFor(randomUUID());
    expect(jwks.fetches).toBeLessThanOrEqual(2);
  });

  it('fetches for unknown kids at most once per interval, for all callers together', async () => {
    jwks.keys = [realKey];
    const keys = cache();
    await keys.keyFor(realKey.kid);
    jwks.fetches = 0;
    clock += INTERVAL_MS;
    for (let round = 0; round < 50; round += 1) await keys.keyFor(randomUUID());
    expect(jwks.fetches).toBe(1);
    clock += INTERVAL_MS;
    await flood(keys, 50);
    expect(jwks.fetches).toBe(2);
  });

  it('a rotated-in key is found on the next allowed fetch; a removed one goes with it', async () => {
    jwks.keys = [realKey];
    const keys = cache();
    await keys.keyFor(realKey.kid);
    const next = await signingKey();
    jwks.keys = [next];
    clock += INTERVAL_MS;
    expect(await keys.keyFor(next.kid)).not.toBeNull();
    expect(await keys.keyFor(realKey.kid)).toBeNull();
  });

  it('keeps serving known keys while the JWKS endpoint is down', async () => {
    jwks.keys = [realKey];
    const errors: unknown[] = [];
    const keys = new JwksKeyCache({ url: jwks.url, maxAgeMs: MAX_AGE_MS, refetchIntervalMs: INTERVAL_MS, timeoutMs: 2_000, now: () => clock, onFetchError: (error) => errors.push(error) });
    await keys.keyFor(realKey.kid);
    jwks.failing = true;
    try {
      clock += MAX_AGE_MS + INTERVAL_MS;
      expect(await keys.keyFor(realKey.kid)).not.toBeNull();
      await flood(keys, 20);
      expect(await keys.keyFor(realKey.kid)).not.toBeNull();
      expect(errors.length).toBeGreaterThanOrEqual(1);
    } finally {
      jwks.failing = false;
    }
  });

  it('a token without a kid gets the only key, and none when there are several', async () => {
    jwks.keys = [realKey];
    const single = cache();
    expect(await single.keyFor(undefined)).not.toBeNull();
    jwks.keys = [realKey, await signingKey()];
    expect(await cache().keyFor(undefined)).toBeNull();
  });
});
