import { Module } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DB_CLIENT, DbModule, type DbClient } from '@wagw/db';
import { findFreePort } from '@wagw/embedded';
import { createLogger } from '@wagw/observability';
import { RedisModule } from '@wagw/queue';
import { createHttpApp } from './create-http-app.js';
import { HealthModule } from './health.module.js';

async function healthApp(redisUrl: string): Promise<NestFastifyApplication> {
  @Module({
    imports: [DbModule.forRoot({ databaseUrl: inject('databaseUrl'), poolSize: 1 }), RedisModule.forRoot({ url: redisUrl, connectionName: 'health-test' }), HealthModule],
  })
  class TestModule {}
  const app = await createHttpApp(TestModule, { logger: createLogger('health-test', 'silent') });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app;
}

describe('health endpoints', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('is live and ready when Postgres and Redis answer', async () => {
    app = await healthApp(inject('redisUrl'));
    const url = await app.getUrl();
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it("asks Postgres through pg, not Prisma's client, whose query compiler would then load in every app", async () => {
    app = await healthApp(inject('redisUrl'));
    expect((await fetch(`${await app.getUrl()}/readyz`)).status).toBe(200);
    // One connection in the pool: Prisma's client prepares each statement it sends, by name, on it.
    const db = app.get<DbClient>(DB_CLIENT);
    const prepared = await db.$queryRaw<Array<{ statement: string }>>`SELECT statement FROM pg_prepared_statements`;
    expect(prepared.length).toBeGreaterThan(0);
    expect(prepared.map((row) => row.statement)).not.toContain('SELECT 1');
  });

  it('stays live but answers 503 on readiness when Redis is unreachable', async () => {
    app = await healthApp(`redis://127.0.0.1:${await findFreePort()}`);
    const url = await app.getUrl();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      error: { code: 'session_unavailable', message: 'not ready', details: { checks: { redis: expect.any(String) } } },
    });
  });
});
