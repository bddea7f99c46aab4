import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '@wagw/db';
import { findFreePort, locateRedisServer, startEmbeddedPostgres, startRedisServer } from '@wagw/embedded';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    /** The Postgres server's admin URL, for tests that need a database of their own. */
    postgresAdminUrl: string;
  }
}

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

/**
 * One real Postgres and one real Redis for the whole run, on free loopback ports in a temporary
 * directory. Tests never truncate: each makes its own organization.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = mkdtempSync(join(tmpdir(), 'wagw-test-'));
  const [pgPort, redisPort] = [await findFreePort(), await findFreePort()];
  const postgres = await startEmbeddedPostgres({ dataDir: join(workDir, 'pg'), port: pgPort, persistent: false, database: 'gateway_test' });
  const redis = await startRedisServer({
    binary: locateRedisServer(join(REPO_ROOT, '.data', 'redis')),
    port: redisPort,
    dataDir: join(workDir, 'redis'),
    persistent: false,
  });
  await applyMigrations(postgres.url, join(REPO_ROOT, 'prisma', 'migrations'));
  project.provide('databaseUrl', postgres.url);
  project.provide('redisUrl', redis.url);
  project.provide('postgresAdminUrl', postgres.url.replace(/\/gateway_test$/, '/postgres'));
  return async () => {
    await redis.stop();
    await postgres.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
}
