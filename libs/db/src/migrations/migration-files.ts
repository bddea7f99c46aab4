import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** Migration folders sort by their timestamp prefix: `20261121150000_init/migration.sql`. */
export const MIGRATION_NAME = /^\d{14}_[a-z0-9_]+$/;

/** The schema as the newest migration leaves it: what the next `create` diffs against. */
export const SCHEMA_SNAPSHOT_FILE = 'schema.snapshot.prisma';

export function readMigrationFiles(migrationsDir: string): MigrationFile[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && MIGRATION_NAME.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}
