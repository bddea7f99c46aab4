import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, inject } from 'vitest';
import { apiGatewayEnvSchema, loadConfig } from '@wagw/config';
import { createDbClient, type DbClient } from '@wagw/db';
import { createLogger } from '@wagw/observability';
import { createTestTenant, type TestJwks, type TestTenant } from '@wagw/testing';
import { createApiGateway } from '../app.js';

/** A fixed key for the tests, so that a test can open what the gateway sealed. */
export const TEST_WEBHOOK_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestGateway {
  url: string;
  app: NestFastifyApplication;
  db: DbClient;
  request(path: string, init?: RequestInit & { token?: string }): Promise<{ status: number; headers: Headers; body: unknown }>;
  close(): Promise<void>;
}

/** The real gateway module, in this process, on a free loopback port, against the run's Postgres and Redis. */
export async function startTestGateway(options: { jwks?: TestJwks; env?: Record<string, string> } = {}): Promise<TestGateway> {
  const env = loadConfig(apiGatewayEnvSchema, {
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    WEBHOOK_SECRET_KEY: TEST_WEBHOOK_SECRET_KEY,
    ...(options.jwks
      ? { AUTH_JWKS_URL: options.jwks.url, AUTH_JWT_ISSUER: options.jwks.issuer, AUTH_JWT_AUDIENCE: options.jwks.audience }
      : {}),
    ...options.env,
  });
  const app = await createApiGateway(env, createLogger('api-gateway-test', 'silent'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const db = createDbClient({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
  return {
    url,
    app,
    db,
    async request(path, init = {}) {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
      const response = await fetch(`${url}${path}`, { ...rest, headers });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text for the assertion message
      }
      return { status: response.status, headers: response.headers, body };
    },
    async close() {
      await app.close();
      await db.$disconnect();
    },
  };
}

/**
 * A gateway and one organization for a describe block: started before its tests, closed after. Read
 * `gateway` and `tenant` inside tests (they are set once `beforeAll` ran).
 */
export function gatewayForSuite(options: { env?: Record<string, string> } = {}): { readonly gateway: TestGateway; readonly tenant: TestTenant } {
  let gateway: TestGateway | undefined;
  let tenant: TestTenant | undefined;
  beforeAll(async () => {
    gateway = await startTestGateway(options);
    tenant = await createTestTenant(gateway.db);
  });
  afterAll(async () => {
    await gateway?.close();
  });
  return {
    get gateway(): TestGateway {
      if (!gateway) throw new Error('the suite gateway is not started yet');
      return gateway;
    },
    get tenant(): TestTenant {
      if (!tenant) throw new Error('the suite tenant is not created yet');
      return tenant;
    },
  };
}
