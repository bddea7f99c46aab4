import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { applyMigrations, type DbClient } from '@wagw/db';
import { findFreePort, locateRedisServer, startEmbeddedPostgres, startRedisServer } from '@wagw/embedded';
import { DATA_DIR, MIGRATIONS_DIR, REPO_ROOT } from '../paths.js';

export interface BenchStores {
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/**
 * A throwaway Postgres (migrated) and Redis on free ports, for one benchmark run. Postgres is durable
 * (every commit waits for the WAL flush), as in production, and tracks statements (pg_stat_statements).
 */
export async function startBenchStores(name: string): Promise<BenchStores> {
  const workDir = mkdtempSync(join(tmpdir(), `wagw-bench-${name}-`));
  const postgres = await startEmbeddedPostgres({
    dataDir: join(workDir, 'pg'),
    port: await findFreePort(),
    persistent: false,
    durable: process.env['BENCH_DURABLE'] !== '0',
    settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all', 'pg_stat_statements.track_planning': 'on' },
    database: 'bench',
  });
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

interface ProcessStat {
  comm: string;
  parent: number;
  seconds: number;
  /** CPU of children that have exited and been waited for (Postgres backends whose connection closed). */
  reapedSeconds: number;
}

/** One process's CPU so far, read from /proc (Linux); null when it is gone. */
function readProcessStat(pid: number): ProcessStat | null {
  const ticksPerSecond = 100;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return {
      comm: stat.slice(stat.indexOf('(') + 1, close),
      parent: Number(fields[1]),
      seconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond,
      reapedSeconds: (Number(fields[13]) + Number(fields[14])) / ticksPerSecond,
    };
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) used so far by each named process, and by this benchmark's own Postgres
 * and Redis: the postmaster and redis-server it started (its children) and the postmaster's backends.
 * Other Postgres or Redis servers on the machine are not counted.
 */
function cpuSecondsByProcess(named: Record<string, number | undefined>): Record<string, number> {
  const all = new Map<number, ProcessStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const found = readProcessStat(Number(entry));
    if (found) all.set(Number(entry), found);
  }
  const ownStore = (comm: string): number[] => [...all].filter(([, stat]) => stat.comm === comm && stat.parent === process.pid).map(([pid]) => pid);
  const postmasters = new Set(ownStore('postgres'));
  const result: Record<string, number> = { postgres: 0, 'redis-server': 0 };
  for (const [pid, stat] of all) {
    const ours = (stat.comm === 'postgres' && (postmasters.has(pid) || postmasters.has(stat.parent))) || (stat.comm === 'redis-server' && stat.parent === process.pid);
    if (ours) result[stat.comm] = (result[stat.comm] ?? 0) + stat.seconds + (postmasters.has(pid) ? stat.reapedSeconds : 0);
  }
  for (const [name, pid] of Object.entries(named)) result[name] = pid === undefined ? 0 : (all.get(pid)?.seconds ?? 0);
  return result;
}

/**
 * Starts counting CPU time: this benchmark's Postgres and Redis, the named processes, and this benchmark process under
 * `benchLabel`. `perUnit` gives each one's milliseconds per unit of work since the start.
 */
export function startCpuMeter(named: Record<string, number | undefined>, benchLabel: string): { perUnit(units: number): Record<string, number> } {
  const before = cpuSecondsByProcess(named);
  const benchBefore = process.cpuUsage();
  return {
    perUnit(units) {
      const bench = process.cpuUsage(benchBefore);
      const after = { ...cpuSecondsByProcess(named), [benchLabel]: (bench.user + bench.system) / 1e6 };
      return Object.fromEntries(Object.entries(after).map(([name, seconds]) => [name, +(((seconds - (before[name] ?? 0)) * 1000) / units).toFixed(2)]));
    },
  };
}

/** Per unit of work (a revoke, a delivery): what Postgres and Redis were asked to do. */
export interface StoreWork {
  /** Transactions committed; a statement outside a transaction counts as one. */
  postgresTransactions: number;
  /** Of those, the ones that wrote (each took a transaction id): each waits for a WAL flush at commit. */
  postgresWriteTransactions: number;
  /** Statements, BEGIN, COMMIT and those run by foreign-key triggers included (pg_stat_statements). */
  postgresStatements: number;
  /** The most frequent statements: calls per unit, and mean planning and execution time in Postgres. */
  topStatements: Array<{ calls: number; planMs: number; execMs: number; statement: string }>;
  /** Commands Redis ran, those inside BullMQ's Lua scripts included. */
  redisCommands: number;
}

export interface StoreCounters {
  commits: number;
  transactionIds: number;
  redisCalls: number;
}

/**
 * A backend reports its commit counters (pg_stat_database) at most once a second while busy, and 10 s
 * after it went idle (Postgres' PGSTAT_IDLE_INTERVAL): counts are read once this has passed with no load,
 * so that none of the work before a window lands in it, and all of the work in it does.
 */
const PG_STATS_FLUSH_WAIT_MS = 11_000;

async function redisCalls(redis: Redis): Promise<number> {
  return (await redis.info('commandstats'))
    .split('\n')
    .filter((line) => line.startsWith('cmdstat_') && !line.startsWith('cmdstat_info'))
    .reduce((sum, line) => sum + Number(/calls=(\d+)/.exec(line)?.[1] ?? 0), 0);
}

/** Transaction ids handed out so far: one per transaction that wrote; read at once, unlike pg_stat_database. */
async function transactionIds(db: DbClient): Promise<number> {
  return Number((await db.$queryRaw<Array<{ next: string }>>`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next`)[0]?.next ?? 0);
}

async function commits(db: DbClient): Promise<number> {
  return Number((await db.$queryRaw<Array<{ commits: bigint }>>`SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()`)[0]?.commits ?? 0);
}

/**
 * Starts counting: resets pg_stat_statements and reads the commit, transaction id and Redis command
 * counters, once the commits of the work before are reported (PG_STATS_FLUSH_WAIT_MS).
 */
export async function storeCounters(db: DbClient, redis: Redis): Promise<StoreCounters> {
  await db.$executeRawUnsafe('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await new Promise((resolve) => setTimeout(resolve, PG_STATS_FLUSH_WAIT_MS));
  await db.$queryRawUnsafe('SELECT pg_stat_statements_reset()');
  return { commits: await commits(db), transactionIds: await transactionIds(db), redisCalls: await redisCalls(redis) };
}

/** The work done since `before`, per unit; our own counter reads are left out. `atRest`: no load in the window. */
export async function storeWorkSince(db: DbClient, redis: Redis, before: StoreCounters, units: number, { atRest = false } = {}): Promise<StoreWork> {
  const redisAfter = await redisCalls(redis);
  const writeTransactions = (await transactionIds(db)) - before.transactionIds;
  // At rest what is not reported yet at the end matches what was not at the start; after a load, all of it is waited for.
  if (!atRest) await new Promise((resolve) => setTimeout(resolve, PG_STATS_FLUSH_WAIT_MS));
  const statements = await db.$queryRaw<Array<{ calls: bigint; plan_ms: number; exec_ms: number; query: string }>>`
    SELECT calls, mean_plan_time AS plan_ms, mean_exec_time AS exec_ms, query FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT ILIKE '%pg_stat%'
     ORDER BY calls DESC`;
  // Three of the commits are the counter reads here.
  const transactions = (await commits(db)) - before.commits - 3;
  const perUnit = (value: number): number => +(value / units).toFixed(2);
  return {
    postgresTransactions: perUnit(transactions),
    postgresWriteTransactions: perUnit(writeTransactions),
    postgresStatements: perUnit(statements.reduce((sum, row) => sum + Number(row.calls), 0)),
    topStatements: statements.slice(0, 15).map((row) => ({
      calls: perUnit(Number(row.calls)),
      planMs: +row.plan_ms.toFixed(3),
      execMs: +row.exec_ms.toFixed(3),
      statement: row.query.replace(/\s+/g, ' ').slice(0, 140),
    })),
    redisCommands: perUnit(redisAfter - before.redisCalls),
  };
}

/**
 * Each named process's memory in MiB (Linux; 0 for one that is gone): resident (RSS), and proportional (PSS),
 * which counts a page shared by several processes (the node binary's code, above all) once across them.
 */
export function residentMiB(named: Record<string, number | undefined>, measure: 'rss' | 'pss' = 'rss'): Record<string, number> {
  const read = (pid: number | undefined): number => {
    if (pid === undefined) return 0;
    try {
      const kib = measure === 'rss' ? /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] : /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
      return +(Number(kib ?? 0) / 1024).toFixed(1);
    } catch {
      return 0;
    }
  };
  return Object.fromEntries(Object.entries(named).map(([name, pid]) => [name, read(pid)]));
}
