import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { findFreePort } from './free-port.js';
import { processGroupOf } from './test/process-group.js';

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
      // The server runs in a process group of its own (patches/embedded-postgres+*.patch): a terminal's
      // Ctrl-C reaches the program that started it, which stops it after its clients, never Postgres itself.
      const postmaster = Number(readFileSync(join(workDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      expect(processGroupOf(postmaster)).toBe(postmaster);
      expect(processGroupOf(postmaster)).not.toBe(processGroupOf(process.pid));
    } finally {
      await postgres.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 60_000);
});
