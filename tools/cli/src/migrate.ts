#!/usr/bin/env node
// `migrate deploy` applies pending migrations; `migrate create <name>` writes one from a schema change.
// Both use DATABASE_URL, or the embedded cluster under .data/ when it is unset.
import { applyMigrations } from '@wagw/db';
import { createMigration } from '@wagw/db/authoring';
import { openEmbeddedDatabase } from './embedded-database.js';
import { MIGRATIONS_DIR, SCHEMA_FILE } from './paths.js';

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'deploy' && command !== 'create') {
    process.stderr.write('usage: migrate deploy | migrate create <name>\n');
    return 64;
  }
  const configured = process.env['DATABASE_URL'];
  const embedded = configured ? null : await openEmbeddedDatabase();
  const databaseUrl = configured ?? embedded?.url ?? '';
  try {
    if (command === 'deploy') {
      const { applied, alreadyApplied } = await applyMigrations(databaseUrl, MIGRATIONS_DIR);
      process.stdout.write(
        applied.length === 0
          ? `database is up to date (${alreadyApplied} migrations)\n`
          : `applied ${applied.length} migration(s): ${applied.join(', ')}\n`,
      );
      return 0;
    }
    const name = rest.join('_');
    const { name: created } = await createMigration({ databaseUrl, schemaFile: SCHEMA_FILE, migrationsDir: MIGRATIONS_DIR, name });
    process.stdout.write(created === null ? 'schema unchanged: no migration written\n' : `wrote prisma/migrations/${created}/migration.sql\n`);
    return 0;
  } finally {
    await embedded?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`migrate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
