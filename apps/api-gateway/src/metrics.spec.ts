import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiGatewayEnvSchema, loadConfig } from '@wagw/config';
import { createDbClient, type DbClient } from '@wagw/db';
import { createLogger } from '@wagw/observability';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestTenant, type TestTenant } from '@wagw/testing';
import { createApiGateway } from './app.js';

/** The gateway with its logs captured: metrics at /metrics, request id and organization in log lines. */
describe('gateway metrics and request logs', () => {
  const lines: Array<Record<string, unknown>> = [];
  let app: NestFastifyApplication;
  let url: string;
  let db: DbClient;
  let tenant: TestTenant;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const env = loadConfig(apiGatewayEnvSchema, { DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0' });
    app = await createApiGateway(env, createLogger('api-gateway', 'info', sink));
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    db = createDbClient({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
    tenant = await createTestTenant(db);
  });
  afterAll(async () => {
    await app.close();
    await db.$disconnect();
  });

  const series = async (name: string, labels: Record<string, string>): Promise<number | null> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && wanted.every((label) => candidate.includes(label)));
    return line === undefined ? null : Number(line.split(' ').at(-1));
  };

  it('serves Prometheus text at /metrics, without authentication', async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain('# TYPE wagw_command_duration_seconds histogram');
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{app="api-gateway"\} /m);
  });

  it('times requests by route template and status, never by raw URL', async () => {
    const before = (await series('http_request_duration_seconds_count', { route: '/api/v1/sessions/:session', status_code: '404' })) ?? 0;
    for (const id of ['0196a1b2-0000-7000-8000-000000000001', '0196a1b2-0000-7000-8000-000000000002']) {
      expect((await fetch(`${url}/api/v1/sessions/${id}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } })).status).toBe(404);
    }
    expect(await series('http_request_duration_seconds_count', { app: 'api-gateway', method: 'GET', route: '/api/v1/sessions/:session', status_code: '404' })).toBe(before + 2);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toContain('0196a1b2-0000-7000-8000-000000000001');
    await fetch(`${url}/no/such/route`);
    expect(await series('http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
  });

  it('puts the request id and, once authenticated, the organization in its log lines', async () => {
    lines.length = 0;
    const response = await fetch(`${url}/api/v1/sessions`, { headers: { authorization: `Bearer ${tenant.apiKey}`, 'x-request-id': 'trace-me-123' } });
    expect(response.status).toBe(200);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    const completed = lines.find((line) => line['reqId'] === 'trace-me-123' && line['msg'] === 'request completed');
    expect(completed).toMatchObject({ reqId: 'trace-me-123', orgId: tenant.orgId, principal: `api_key:${tenant.apiKeyId}` });
    expect(JSON.stringify(lines)).not.toContain(tenant.apiKey);
  });
});
