import { randomUUID } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { API_KEY_ROW_REUSE_MS } from '@wagw/auth';
import { ApiKeysRepository } from '@wagw/db';
import { createTestTenant, startTestJwks, type TestJwks, type TestTenant } from '@wagw/testing';
import { startTestGateway, type TestGateway } from './test/gateway-harness.js';

const JWKS_REQUESTS_PER_MINUTE = 2;

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function expectUnauthorized(response: { status: number; body: unknown }): void {
  expect(response.status).toBe(401);
  expect(response.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: {} } });
}

describe('bearer authentication (login JWT, then API key)', () => {
  let jwks: TestJwks;
  let gateway: TestGateway;
  let tenant: TestTenant;

  beforeAll(async () => {
    jwks = await startTestJwks();
    gateway = await startTestGateway({ jwks, env: { AUTH_JWKS_REQUESTS_PER_MINUTE: String(JWKS_REQUESTS_PER_MINUTE), AUTH_JWT_MAX_LIFETIME_S: '3600' } });
    tenant = await createTestTenant(gateway.db, jwks);
  });

  afterAll(async () => {
    await gateway.close();
    await jwks.close();
  });

  const listSessions = (token?: string, headers: Record<string, string> = {}) =>
    gateway.request('/api/v1/sessions', { ...(token === undefined ? {} : { token }), headers });

  it('answers 200 for a valid login JWT', async () => {
    const response = await listSessions(await tenant.loginJwt('admin'));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: [], nextCursor: null });
  });

  it('answers 200 for a valid API key', async () => {
    const response = await listSessions(tenant.apiKey);
    expect(response.status).toBe(200);
  });

  it('refuses a missing Authorization header', async () => {
    const response = await listSessions();
    expectUnauthorized(response);
    expect((response.body as { error: { message: string } }).error.message).toMatch(/missing/);
  });

  it.each([
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['Bearer without a token', 'Bearer'],
    ['Bearer with two tokens', 'Bearer a b'],
    ['lower-case scheme with a space', 'bearer  token'],
  ])('refuses a malformed header: %s', async (_, header) => {
    const response = await listSessions(undefined, { authorization: header });
    expectUnauthorized(response);
    expect((response.body as { error: { message: string } }).error.message).toMatch(/malformed/);
  });

  it('refuses an expired JWT', async () => {
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { expiresInSeconds: -120 })));
  });

  it('refuses a JWT from the wrong issuer', async () => {
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { issuer: 'https://evil.example/' })));
  });

  it('refuses a JWT for the wrong audience', async () => {
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { audience: 'someone-else' })));
  });

  it('refuses alg "none"', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${base64url({ alg: 'none', typ: 'JWT', kid: jwks.kid })}.${base64url({
      sub: tenant.userId, org_id: tenant.orgId, role: 'owner', iss: jwks.issuer, aud: jwks.audience, iat: now, exp: now + 300,
    })}.`;
    expectUnauthorized(await listSessions(token));
  });

  it('refuses an HS256 token signed with the RSA public key', async () => {
    const publicPem = createPublicKey({ key: jwks.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const token = await new SignJWT({ sub: tenant.userId, org_id: tenant.orgId, role: 'owner' })
      .setProtectedHeader({ alg: 'HS256', kid: jwks.kid })
      .setIssuer(jwks.issuer)
      .setAudience(jwks.audience)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(publicPem.toString()));
    expectUnauthorized(await listSessions(token));
  });

  it('refuses a tampered signature', async () => {
    const token = await tenant.loginJwt('admin');
    const [header, payload, signature = ''] = token.split('.');
    const flipped = `${signature.slice(0, -4)}${signature.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expectUnauthorized(await listSessions(`${header}.${payload}.${flipped}`));
  });

  it('refuses a tampered payload (another org) with the original signature', async () => {
    const token = await tenant.loginJwt('viewer');
    const [header, , signature] = token.split('.');
    const forged = base64url({ sub: tenant.userId, org_id: randomUUID(), role: 'owner', iss: jwks.issuer, aud: jwks.audience, exp: Math.floor(Date.now() / 1000) + 300 });
    expectUnauthorized(await listSessions(`${header}.${forged}.${signature}`));
  });

  it.each([
    ['without exp (it would never expire)', { expiresInSeconds: null }],
    ['with iat in the future', { issuedAt: Math.floor(Date.now() / 1000) + 600, expiresInSeconds: 900 }],
    ['living longer than AUTH_JWT_MAX_LIFETIME_S', { expiresInSeconds: 3_600 + 60 }],
  ] as const)('refuses a JWT %s', async (_, options) => {
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, options)));
  });

  it('accepts a JWT at the lifetime cap, and with iat within the clock tolerance', async () => {
    expect((await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { expiresInSeconds: 3_600 - 5 }))).status).toBe(200);
    expect((await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { issuedAt: Math.floor(Date.now() / 1000) + 10 }))).status).toBe(200);
  });

  it('refuses a JWT signed by a key the JWKS does not publish', async () => {
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { foreignKey: true })));
  });

  it('refuses unknown kids, and a flood of them does not hammer the JWKS endpoint', async () => {
    const before = jwks.fetchCount;
    const tokens = await Promise.all(
      Array.from({ length: 40 }, () => jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { kid: randomUUID(), foreignKey: true })),
    );
    for (const token of tokens) expectUnauthorized(await listSessions(token));
    expect(jwks.fetchCount - before).toBeLessThanOrEqual(JWKS_REQUESTS_PER_MINUTE);
    // The real key still works from the cache.
    expect((await listSessions(await tenant.loginJwt('member'))).status).toBe(200);
  });

  it('refuses a JWT whose claims name no org, an unknown org, or no valid role', async () => {
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, role: 'admin' })));
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, org_id: randomUUID(), role: 'admin' })));
    expectUnauthorized(await listSessions(await jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'superuser' })));
  });

  it('refuses an unknown API key of the right shape', async () => {
    expectUnauthorized(await listSessions(`wagw_0123456789ab_${'A'.repeat(43)}`));
  });

  it('refuses a key whose secret part is wrong', async () => {
    const wrongSecret = `${tenant.apiKey.slice(0, 18)}${'B'.repeat(43)}`;
    expectUnauthorized(await listSessions(wrongSecret));
  });

  it('refuses a key revoked through this gateway at once', async () => {
    const key = await tenant.createApiKey(['read']);
    expect((await listSessions(key.key)).status).toBe(200);
    expect((await gateway.request(`/api/v1/org/api-keys/${key.id}`, { method: 'DELETE', token: tenant.apiKey })).status).toBe(204);
    expectUnauthorized(await listSessions(key.key));
  });

  it('refuses a key revoked elsewhere (another replica, the database) within a second', async () => {
    const key = await tenant.createApiKey(['read']);
    expect((await listSessions(key.key)).status).toBe(200);
    const lastAccepted = Date.now();
    expect(await new ApiKeysRepository(gateway.db).revoke(tenant.orgId, key.id)).toBe(true);
    await new Promise((resolveWait) => setTimeout(resolveWait, API_KEY_ROW_REUSE_MS - (Date.now() - lastAccepted)));
    expectUnauthorized(await listSessions(key.key));
  });

  it('refuses an expired API key', async () => {
    const key = await tenant.createApiKey(['read']);
    await gateway.db.apiKey.update({ where: { id: key.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expectUnauthorized(await listSessions(key.key));
  });

  it('records when a key was last used', async () => {
    const key = await tenant.createApiKey(['read']);
    expect((await listSessions(key.key)).status).toBe(200);
    await expect
      .poll(async () => (await gateway.db.apiKey.findUnique({ where: { id: key.id } }))?.lastUsedAt ?? null)
      .not.toBeNull();
  });

  it('keeps health checks public', async () => {
    expect((await gateway.request('/healthz')).status).toBe(200);
    expect((await gateway.request('/readyz')).body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });
});

// Unauthenticated traffic must never deny authentication to valid tokens: a flood of made-up kids
// spends the unknown-kid budget, never the real key.
describe('login JWTs under a flood of unknown kids', () => {
  let jwks: TestJwks;
  let gateway: TestGateway;
  let tenant: TestTenant;
  const flood = async (count: number): Promise<void> => {
    const tokens = await Promise.all(Array.from({ length: count }, () => jwks.sign({ sub: tenant.userId, org_id: tenant.orgId, role: 'admin' }, { kid: randomUUID(), foreignKey: true })));
    const statuses = await Promise.all(tokens.map(async (token) => (await gateway.request('/api/v1/sessions', { token })).status));
    expect(statuses.every((status) => status === 401)).toBe(true);
  };

  beforeAll(async () => {
    jwks = await startTestJwks();
    // Keys age out after a second, so the warm case is reached without waiting ten minutes.
    gateway = await startTestGateway({ jwks, env: { AUTH_JWKS_REQUESTS_PER_MINUTE: '5', AUTH_JWKS_CACHE_MAX_AGE_MS: '1000' } });
    tenant = await createTestTenant(gateway.db, jwks);
  });

  afterAll(async () => {
    await gateway.close();
    await jwks.close();
  });

  it('cold (nothing fetched yet): 200 made-up kids first, then the valid token is accepted', async () => {
    await flood(200);
    expect((await gateway.request('/api/v1/sessions', { token: await tenant.loginJwt('admin') })).status).toBe(200);
  });

  it('warm, after the keys aged out: another flood, and the valid token is accepted each time', async () => {
    for (let round = 0; round < 3; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await flood(50);
      expect((await gateway.request('/api/v1/sessions', { token: await tenant.loginJwt('member') })).status).toBe(200);
    }
    // Five unknown-kid fetches a minute at most, plus the background refreshes of the aged key.
    expect(jwks.fetchCount).toBeLessThanOrEqual(1 + 3 + 3);
  });
});
