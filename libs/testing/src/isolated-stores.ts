import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { applyMigrations } from '@wagw/db';
import { createRedisConnection } from '@wagw/queue';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

/**
 * A database of its own, migrated, on the run's Postgres: for tests whose background loops (relays,
 * placement) scan whole tables and must not pick up rows of test files running beside them.
 */
export async function createIsolatedDatabase(prefix = 'iso'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = inject('postgresAdminUrl').replace(/\/postgres$/, `/${name}`);
  await applyMigrations(url, join(REPO_ROOT, 'prisma', 'migrations'));
  return url;
}

/**
 * A Redis database index of its own, emptied. Database 0 belongs to the in-process tests; each caller
 * takes the next of databases 1-15 from a counter kept in database 0 (unique across test files).
 */
export async function createIsolatedRedisUrl(): Promise<string> {
  const counter = createRedisConnection(inject('redisUrl'), 'redis-db-counter');
  const index = 1 + ((await counter.incr('e2e:redis-db-counter')) - 1) % 15;
  counter.disconnect();
  const url = `${inject('redisUrl')}/${index}`;
  const redis = createRedisConnection(url, 'isolated-flush');
  await redis.flushdb();
  redis.disconnect();
  return url;
}
