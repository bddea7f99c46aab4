import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { MIGRATION_NAME, SCHEMA_SNAPSHOT_FILE } from './migration-files.js';

type SchemaEngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

let engineModule: Promise<SchemaEngineModule> | undefined;

/** The slice of the WebAssembly global we use; Node has it, but its types live in the DOM lib. */
interface WasmRuntime {
  instantiate(bytes: Uint8Array, imports: Record<string, unknown>): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const wasmRuntime = (globalThis as unknown as { WebAssembly: WasmRuntime }).WebAssembly;

/**
 * Loads Prisma's WASM schema engine by hand: its entry point imports a `.wasm` file as an ES module,
 * which Node cannot do without a flag, so we instantiate the bytes ourselves and hand them to the bindings.
 */
function loadSchemaEngine(): Promise<SchemaEngineModule> {
  engineModule ??= (async () => {
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
    const { instance } = await wasmRuntime.instantiate(readFileSync(wasmPath), { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    const start = instance.exports['__wbindgen_start'];
    if (typeof start === 'function') start();
    return bindings;
  })();
  return engineModule;
}

export interface DatabaseConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** The adapter wants discrete fields: given a connection string it silently uses it for the shadow database too. */
export function connectionFromUrl(databaseUrl: string): DatabaseConnection {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, '') || 'postgres',
  };
}

/**
 * The SQL that takes a database from the schema `from` (null: empty) to `to`. The engine diffs the two
 * datamodels in memory; it only needs a live connection because it opens one at construction.
 */
export async function diffSchemas(databaseUrl: string, from: string | null, to: string): Promise<string> {
  const { SchemaEngine } = await loadSchemaEngine();
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(connectionFromUrl(databaseUrl)));
  const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', to]] }, () => undefined, adapter);
  try {
    const result = await engine.diff({
      from: from === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: from }] },
      to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: to }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const script = result.stdout ?? '';
    return script.includes('This is an empty migration') ? '' : script;
  } finally {
    engine.free();
  }
}

export interface CreateMigrationResult {
  name: string | null;
  sql: string;
}

function timestampNow(now: Date): string {
  return now.toISOString().replace(/\D/g, '').slice(0, 14);
}

/**
 * Writes `prisma/migrations/<timestamp>_<name>/migration.sql` with the SQL from the schema of the newest
 * migration (kept in `schema.snapshot.prisma`) to the current `schema.prisma`, and moves the snapshot on.
 * Returns `name: null` when the schema has not changed.
 */
export async function createMigration(options: {
  databaseUrl: string;
  schemaFile: string;
  migrationsDir: string;
  name: string;
  now?: Date;
}): Promise<CreateMigrationResult> {
  const slug = options.name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (slug.length === 0) throw new Error('a migration needs a name, e.g. add_message_reactions');
  const snapshotFile = join(options.migrationsDir, SCHEMA_SNAPSHOT_FILE);
  const previous = existsSync(snapshotFile) ? readFileSync(snapshotFile, 'utf8') : null;
  const current = readFileSync(options.schemaFile, 'utf8');
  const sql = await diffSchemas(options.databaseUrl, previous, current);
  if (sql.trim().length === 0) return { name: null, sql: '' };
  const name = `${timestampNow(options.now ?? new Date())}_${slug}`;
  if (!MIGRATION_NAME.test(name)) throw new Error(`bad migration name ${name}`);
  mkdirSync(join(options.migrationsDir, name), { recursive: true });
  writeFileSync(join(options.migrationsDir, name, 'migration.sql'), sql);
  writeFileSync(snapshotFile, current);
  return { name, sql };
}
