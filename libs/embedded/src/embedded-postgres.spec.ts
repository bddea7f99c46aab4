import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { findFreePort } from './free-port.js';

async function settingsOf(url: string, names: readonly string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const values: string[] = [];
    for (const name of names) values.push(String((await client.query(`SHOW ${name}`)).rows[0]?.[name]));
    return values;
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres settings', () => {
  it('a throwaway cluster skips fsync (the tests run on one)', async () => {
    expect(await settingsOf(inject('databaseUrl'), ['fsync', 'synchronous_commit'])).toEqual(['off', 'off']);
  });

  it('a durable throwaway cluster waits for the WAL flush, and takes extra settings', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'wagw-pg-durable-'));
    const postgres = await startEmbeddedPostgres({ dataDir: join(workDir, 'pg'), port: await findFreePort(), persistent: false, durable: true, settings: { work_mem: '7MB' }, database: 'durable' });
    try {
      expect(await settingsOf(postgres.url, ['fsync', 'synchronous_commit', 'work_mem'])).toEqual(['on', 'on', '7MB']);
    } finally {
      await postgres.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 60_000);
});
