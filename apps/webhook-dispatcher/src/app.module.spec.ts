import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, webhookDispatcherEnvSchema } from '@wagw/config';
import { DB_CLIENT, type DbClient } from '@wagw/db';
import { createLogger } from '@wagw/observability';
import { createWebhookDispatcher } from './app.js';

/** The dispatcher as deployed, on real Postgres and Redis. */
describe('webhook dispatcher database pool', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const env = loadConfig(webhookDispatcherEnvSchema, {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      HEALTH_PORT: '0',
    });
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    app = await createWebhookDispatcher(env, createLogger('webhook-dispatcher', 'warn', quiet));
  });
  afterAll(async () => {
    await app.close();
  });

  it('plans each statement once: the fan-out pass runs every few hundred milliseconds under traffic', async () => {
    const db = app.get<DbClient>(DB_CLIENT);
    const [row] = await db.$queryRaw<Array<{ plan_cache_mode: string }>>`SHOW plan_cache_mode`;
    expect(row?.plan_cache_mode).toBe('force_generic_plan');
  });
});
