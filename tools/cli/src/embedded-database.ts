import { join } from 'node:path';
import { isPortFree, startEmbeddedPostgres, type EmbeddedPostgresHandle } from '@wagw/embedded';
import { DATA_DIR } from './paths.js';

export const EMBEDDED_PG_PORT = Number(process.env['EMBEDDED_PG_PORT'] ?? 54329);
export const EMBEDDED_REDIS_PORT = Number(process.env['EMBEDDED_REDIS_PORT'] ?? 63799);
export const EMBEDDED_DATABASE_URL = `postgresql://postgres:postgres@127.0.0.1:${EMBEDDED_PG_PORT}/gateway`;

/**
 * The embedded cluster under `.data/postgres`. When its port is taken we assume `npm start` is already
 * running it and use that one rather than fight over the data directory.
 */
export async function openEmbeddedDatabase(): Promise<EmbeddedPostgresHandle> {
  if (!(await isPortFree(EMBEDDED_PG_PORT))) {
    return { url: EMBEDDED_DATABASE_URL, port: EMBEDDED_PG_PORT, dataDir: join(DATA_DIR, 'postgres'), stop: async () => undefined };
  }
  return startEmbeddedPostgres({ dataDir: join(DATA_DIR, 'postgres'), port: EMBEDDED_PG_PORT, persistent: true });
}
