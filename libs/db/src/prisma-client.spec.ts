import { describe, expect, inject, it, vi } from 'vitest';
import { Prisma } from './generated/client.js';
import { createDbClient, hotSql, POOL_IDLE_TIMEOUT_MS, preparedStatementNames } from './prisma-client.js';

describe('prepared statements', () => {
  it('names each distinct statement once, and runs the ones past the limit unprepared', () => {
    const name = preparedStatementNames(2);
    expect(name({ sql: 'SELECT 1' })).toBe('wagw_1');
    expect(name({ sql: 'SELECT 2' })).toBe('wagw_2');
    expect(name({ sql: 'SELECT 1' })).toBe('wagw_1');
    expect(name({ sql: 'SELECT 3' })).toBe('');
  });

  it("has Postgres keep the client's statements prepared on its connection (real Postgres)", async () => {
    const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1 });
    try {
      await db.organization.findFirst({ where: { name: 'prepared-statement-probe' } });
      // One connection: the view lists what this session has prepared.
      const prepared = await db.$queryRaw<Array<{ name: string; statement: string }>>`SELECT name, statement FROM pg_prepared_statements`;
      expect(prepared.some((row) => row.name.startsWith('wagw_') && row.statement.includes('"organizations"'))).toBe(true);
    } finally {
      await db.$disconnect();
    }
  });

  it('plans each prepared statement once (a generic plan) when asked, and by cost otherwise (real Postgres)', async () => {
    const generic = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1, genericPlans: true });
    const byCost = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1 });
    try {
      const mode = async (db: typeof generic) => (await db.$queryRaw<Array<{ plan_cache_mode: string }>>`SHOW plan_cache_mode`)[0]?.plan_cache_mode;
      expect(await mode(generic)).toBe('force_generic_plan');
      expect(await mode(byCost)).toBe('auto');
    } finally {
      await Promise.all([generic.$disconnect(), byCost.$disconnect()]);
    }
  });

  it("runs the hot paths' statements through pg on Prisma's own pool, prepared by name (real Postgres)", async () => {
    const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1 });
    try {
      const rows = await hotSql(db).rows<{ doubled: number }>(Prisma.sql`SELECT ${21}::int * 2 AS doubled`);
      expect(rows).toEqual([{ doubled: 42 }]);
      // One connection, shared: Prisma sees what the hot path prepared on it.
      const prepared = await db.$queryRaw<Array<{ name: string; statement: string }>>`SELECT name, statement FROM pg_prepared_statements`;
      expect(prepared.some((row) => row.name.startsWith('wagw_') && row.statement.includes('AS doubled'))).toBe(true);
    } finally {
      await db.$disconnect();
    }
  });

  it('runs a HotSql transaction on one connection: committed when the work resolves, rolled back when it throws (real Postgres)', async () => {
    const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
    const name = `hot-sql-tx-${Date.now()}`;
    const count = async () => (await db.organization.count({ where: { name } }));
    try {
      const backends = await hotSql(db).transaction(async (tx) => {
        await tx.count(Prisma.sql`INSERT INTO organizations (id, name, created_at, updated_at) VALUES (gen_random_uuid(), ${name}, now(), now())`);
        // Not yet visible to another connection: the insert waits for the commit.
        expect(await count()).toBe(0);
        const [first] = await tx.rows<{ pid: number }>(Prisma.sql`SELECT pg_backend_pid() AS pid`);
        const [second] = await tx.rows<{ pid: number }>(Prisma.sql`SELECT pg_backend_pid() AS pid`);
        return [first?.pid, second?.pid];
      });
      expect(backends[0]).toBe(backends[1]);
      expect(await count()).toBe(1);
      await expect(
        hotSql(db).transaction(async (tx) => {
          await tx.count(Prisma.sql`INSERT INTO organizations (id, name, created_at, updated_at) VALUES (gen_random_uuid(), ${name}, now(), now())`);
          throw new Error('changed its mind');
        }),
      ).rejects.toThrow('changed its mind');
      expect(await count()).toBe(1);
      await expect(hotSql(db).transaction(async (tx) => tx.transaction(async () => 1))).rejects.toThrow('cannot be opened inside another');
    } finally {
      await db.organization.deleteMany({ where: { name } });
      await db.$disconnect();
    }
  });
});

describe('idle connections', () => {
  const backendOf = async (db: ReturnType<typeof createDbClient>) => (await hotSql(db).rows<{ pid: number }>(Prisma.sql`SELECT pg_backend_pid() AS pid`))[0]?.pid;

  it("keeps a connection idle for longer than pg's 10 s default, and closes it after the configured time (real Postgres)", async () => {
    // Only the pool's idle timers run on the fake clock; the sockets and Postgres stay real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1 });
    try {
      const first = await backendOf(db);
      vi.advanceTimersByTime(11_000);
      expect(await backendOf(db)).toBe(first);
      vi.advanceTimersByTime(POOL_IDLE_TIMEOUT_MS + 1_000);
      expect(await backendOf(db)).not.toBe(first);
    } finally {
      vi.useRealTimers();
      await db.$disconnect();
    }
  });

  it('closes idle connections after idleTimeoutMs when given (real Postgres)', async () => {
    const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1, idleTimeoutMs: 200 });
    try {
      const first = await backendOf(db);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await backendOf(db)).not.toBe(first);
    } finally {
      await db.$disconnect();
    }
  });
});
