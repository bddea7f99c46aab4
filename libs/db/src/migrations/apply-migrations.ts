import pg from 'pg';
import { readMigrationFiles } from './migration-files.js';

export interface ApplyMigrationsResult {
  applied: string[];
  alreadyApplied: number;
}

/** Arbitrary but fixed: every deployer of this product takes the same advisory lock. */
const MIGRATION_LOCK_KEY = 7_420_913_511;

/**
 * Applies the SQL migrations in `migrationsDir` that the database has not seen, each in its own
 * transaction, in name order. Several processes may run this at once (one per pod): an advisory lock
 * makes the others wait and then find nothing left to do. An applied migration whose file changed is
 * refused: the database and the repository disagree and a person must look.
 */
export async function applyMigrations(databaseUrl: string, migrationsDir: string): Promise<ApplyMigrationsResult> {
  const migrations = readMigrationFiles(migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS "_migrations" (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM "_migrations"');
    const appliedChecksums = new Map(rows.map((row) => [row.name, row.checksum]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const knownChecksum = appliedChecksums.get(migration.name);
      if (knownChecksum !== undefined) {
        if (knownChecksum !== migration.checksum) {
          throw new Error(`migration ${migration.name} was changed after it was applied (checksum mismatch)`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO "_migrations" (name, checksum) VALUES ($1, $2)', [migration.name, migration.checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      applied.push(migration.name);
    }
    return { applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}
