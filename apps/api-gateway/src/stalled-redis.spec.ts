import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsRepository } from '@wagw/db';
import { findFreePort, locateRedisServer, startRedisServer, type RedisServerHandle } from '@wagw/embedded';
import { createTestTenant, type TestTenant } from '@wagw/testing';
import { startTestGateway, type TestGateway } from './test/gateway-harness.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const COMMAND_TIMEOUT_MS = 1_500;
/** What the README promises beyond COMMAND_TIMEOUT_MS, whatever the stores do. */
const MARGIN_MS = 1_000;

// A Redis that stops answering with its connections open (SIGSTOP: a stalled network or a frozen
// host), under a gateway of its own: every answer stays bounded, and a 503 says when to retry.
describe('a gateway whose Redis stops answering', { timeout: 60_000 }, () => {
  let redis: RedisServerHandle;
  let gateway: TestGateway;
  let tenant: TestTenant;
  let sessionId: string;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wagw-stalled-redis-'));
    redis = await startRedisServer({ binary: locateRedisServer(join(REPO_ROOT, '.data', 'redis')), port: await findFreePort(), dataDir: workDir, persistent: false });
    gateway = await startTestGateway({ env: { REDIS_URL: redis.url, COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) } });
    tenant = await createTestTenant(gateway.db);
    const sessions = new SessionsRepository(gateway.db);
    sessionId = (await sessions.create(tenant.orgId, { name: 'stalled', createdBy: 'u' })).id;
    await sessions.update(tenant.orgId, sessionId, { status: 'connected', shouldRun: true });
    // Warm up: every connection the requests below use is open before Redis stalls.
    await gateway.request(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat: '15551234567@s.whatsapp.net', text: 'warm up' }) });
    redis.process.kill('SIGSTOP');
  });

  afterAll(async () => {
    // Redis is stopped whatever happened above: a test that failed must not leave it frozen behind.
    redis.process.kill('SIGCONT');
    try {
      await gateway.close();
    } finally {
      await redis.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('a send answers within COMMAND_TIMEOUT_MS plus the margin, 503 with Retry-After or 504 with the operation', async () => {
    const started = Date.now();
    const response = await gateway.request(`/api/v1/sessions/${sessionId}/messages`, { method: 'POST', token: tenant.apiKey, headers: { 'content-type': 'application/json', 'idempotency-key': 'stalled-1' }, body: JSON.stringify({ chat: '15551234567@s.whatsapp.net', text: 'hello' }) });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    expect([503, 504]).toContain(response.status);
    if (response.status === 503) expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(response.body).toMatchObject({ error: { code: expect.stringMatching(/^(session_unavailable|timeout)$/) } });
  });

  it('a read that needs no worker still answers, at once', async () => {
    const started = Date.now();
    const response = await gateway.request('/api/v1/sessions', { token: tenant.apiKey });
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    expect(response.status).toBe(200);
  });
});
