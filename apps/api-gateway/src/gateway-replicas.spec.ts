import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_KEY_ROW_REUSE_MS } from '@wagw/auth';
import { createDbClient, type DbClient } from '@wagw/db';
import { createIsolatedRedisUrl, createTestTenant, startGatewayProcess, type GatewayProcess } from '@wagw/testing';

/** Two gateway processes (the built entry point, as production runs it) over one Redis. */
describe('gateway replicas over one Redis: rate limits, key revocation, security headers, CORS', { timeout: 60_000 }, () => {
  const gateways: GatewayProcess[] = [];
  let db: DbClient;

  beforeAll(async () => {
    db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
    const redisUrl = await createIsolatedRedisUrl();
    for (const replica of ['A', 'B']) {
      gateways.push(
        await startGatewayProcess(
          { databaseUrl: inject('databaseUrl'), redisUrl },
          {
            // An hour-long window: the test never straddles two windows.
            RATE_LIMIT_WINDOW_MS: '3600000',
            RATE_LIMIT_KEY_WRITES: '5',
            RATE_LIMIT_KEY_READS: '8',
            RATE_LIMIT_ORG_WRITES: '8',
            RATE_LIMIT_ORG_READS: '100',
            ...(replica === 'B' ? { CORS_ORIGINS: 'https://dashboard.example.com' } : {}),
          },
        ),
      );
    }
  });
  afterAll(async () => {
    for (const gateway of gateways) gateway.child.kill('SIGTERM');
    await Promise.all(gateways.map((gateway) => gateway.exited));
    await db.$disconnect();
  });

  /** A write the guard counts before validation runs: it changes nothing. */
  const write = (gateway: number, key: string) =>
    fetch(`${gateways[gateway]?.url}/api/v1/sessions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
  const read = (gateway: number, key: string) => fetch(`${gateways[gateway]?.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${key}` } });

  it('the N+1-th write in the window gets 429 with Retry-After, whichever replica it reaches', async () => {
    const tenant = await createTestTenant(db);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await write(i % 2, tenant.apiKey)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    for (const gateway of [0, 1]) {
      const limited = await write(gateway, tenant.apiKey);
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited', details: { scope: 'key', limit: 5, windowSeconds: 3600, retryAfterSeconds: retryAfter } } });
    }
    // Reads have their own, higher limit.
    const reads: number[] = [];
    for (let i = 0; i < 9; i += 1) reads.push((await read(i % 2, tenant.apiKey)).status);
    expect(reads).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
  });

  it('a key created on one replica works on both, and once revoked fails on the other within a second', async () => {
    const tenant = await createTestTenant(db);
    const post = await fetch(`${gateways[0]?.url}/api/v1/org/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'short-lived', capabilities: ['read'] }),
    });
    expect(post.status).toBe(201);
    const created = (await post.json()) as { id: string; key: string };
    expect((await read(1, created.key)).status).toBe(200);
    expect((await read(0, created.key)).status).toBe(200);

    const revoked = await fetch(`${gateways[0]?.url}/api/v1/org/api-keys/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(revoked.status).toBe(204);
    const revokedAt = Date.now();
    // At once on the replica that revoked it.
    expect((await read(0, created.key)).status).toBe(401);
    // On the other, once its copy of the key's row (read before the revocation) is a second old.
    await new Promise((resolveWait) => setTimeout(resolveWait, API_KEY_ROW_REUSE_MS - (Date.now() - revokedAt)));
    const onOther = await read(1, created.key);
    expect(onOther.status).toBe(401);
    expect(await onOther.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it("limits the organization as a whole, and never another organization", async () => {
    const tenant = await createTestTenant(db);
    const [first, second] = [await tenant.createApiKey(['sessions:manage']), await tenant.createApiKey(['sessions:manage'])];
    for (let i = 0; i < 5; i += 1) expect((await write(i % 2, first.key)).status).toBe(400);
    // The organization has 8 writes per window: the second key gets the remaining 3.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await write(i % 2, second.key)).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    expect(await (await write(0, second.key)).json()).toMatchObject({ error: { code: 'rate_limited', details: { scope: 'organization', limit: 8 } } });
    const other = await createTestTenant(db);
    expect((await write(1, other.apiKey)).status).toBe(400);
  });

  it('sends security headers on every response, errors included', async () => {
    for (const response of [await fetch(`${gateways[0]?.url}/healthz`), await fetch(`${gateways[0]?.url}/api/v1/sessions`), await fetch(`${gateways[0]?.url}/nowhere`)]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('CORS is off unless origins are configured, and then only for those', async () => {
    const preflight = (gateway: number, origin: string) =>
      fetch(`${gateways[gateway]?.url}/api/v1/sessions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    expect((await preflight(0, 'https://dashboard.example.com')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(1, 'https://dashboard.example.com')).headers.get('access-control-allow-origin')).toBe('https://dashboard.example.com');
    expect((await preflight(1, 'https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
