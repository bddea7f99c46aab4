import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { applyMigrations } from '@wagw/db';
import { findFreePort, locateRedisServer, startEmbeddedPostgres, startRedisServer } from '@wagw/embedded';
import { DATA_DIR, MIGRATIONS_DIR, REPO_ROOT } from '../paths.js';

export interface BenchStores {
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/** A throwaway Postgres (migrated) and Redis on free ports, for one benchmark run. */
export async function startBenchStores(name: string): Promise<BenchStores> {
  const workDir = mkdtempSync(join(tmpdir(), `wagw-bench-${name}-`));
  const postgres = await startEmbeddedPostgres({ dataDir: join(workDir, 'pg'), port: await findFreePort(), persistent: false, database: 'bench' });
  const redis = await startRedisServer({ binary: locateRedisServer(join(DATA_DIR, 'redis')), port: await findFreePort(), dataDir: workDir, persistent: false });
  await applyMigrations(postgres.url, MIGRATIONS_DIR);
  return {
    databaseUrl: postgres.url,
    redisUrl: redis.url,
    async stop() {
      await redis.stop();
      await postgres.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` every 100 ms until it yields a value. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function waitUntilReady(url: string, timeoutMs = 60_000): Promise<true> {
  return waitFor(async () => ((await fetch(url).then((response) => response.ok, () => false)) ? true : undefined), url, timeoutMs);
}

export function machineDescription(): { cpus: number; cpuModel: string; memoryGiB: number; node: string } {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** Writes bench/results/<name>.json. */
export function writeBenchResult(name: string, result: object): void {
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench', 'results', `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
}
