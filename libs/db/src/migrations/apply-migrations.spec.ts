import { cpSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { applyMigrations } from './apply-migrations.js';
import { readMigrationFiles, SCHEMA_SNAPSHOT_FILE } from './migration-files.js';
import { diffSchemas } from './create-migration.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
const MIGRATIONS_DIR = join(REPO_ROOT, 'prisma', 'migrations');

describe('migrations', () => {
  const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
  const created: string[] = [];

  /** An empty database of its own, so these tests never touch the shared one. */
  async function emptyDatabase(): Promise<string> {
    const name = `migrate_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    created.push(name);
    return inject('postgresAdminUrl').replace(/\/postgres$/, `/${name}`);
  }

  async function tables(url: string): Promise<string[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
      return rows.map((row) => row.tablename);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    await admin.connect();
  });

  afterAll(async () => {
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('applies every migration to an empty database, then does nothing on a second run', async () => {
    const url = await emptyDatabase();
    const all = readMigrationFiles(MIGRATIONS_DIR).map((migration) => migration.name);
    expect(all.length).toBeGreaterThan(0);

    expect(await applyMigrations(url, MIGRATIONS_DIR)).toEqual({ applied: all, alreadyApplied: 0 });
    expect(await tables(url)).toEqual(
      expect.arrayContaining(['organizations', 'api_keys', 'whatsapp_sessions', 'auth_creds', 'auth_keys', 'messages',
        'outbox_operations', 'domain_events', 'webhook_endpoints', 'webhook_deliveries', 'audit_log', '_migrations']),
    );
    expect(await applyMigrations(url, MIGRATIONS_DIR)).toEqual({ applied: [], alreadyApplied: all.length });
  });

  it('ties hot rows to their organization through their session alone: no second key to lock, the same integrity', async () => {
    const url = await emptyDatabase();
    await applyMigrations(url, MIGRATIONS_DIR);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // Each foreign key makes an insert lock the row it names; the organization's row is shared by every
      // insert of the tenant, so a key to it that the session's compound key already implies is pure cost.
      const { rows: keys } = await client.query<{ child: string }>(
        `SELECT conrelid::regclass::text AS child FROM pg_constraint
          WHERE contype = 'f' AND confrelid = 'organizations'::regclass AND conrelid::regclass::text = ANY($1) ORDER BY 1`,
        [['messages', 'outbox_operations', 'webhook_deliveries']],
      );
      expect(keys).toEqual([]);

      const [orgA, orgB, sessionB] = ['0190a000-0000-7000-8000-00000000000a', '0190a000-0000-7000-8000-00000000000b', '0190a000-0000-7000-8000-0000000000b1'];
      await client.query(`INSERT INTO organizations (id, name, updated_at) VALUES ($1, 'a', now()), ($2, 'b', now())`, [orgA, orgB]);
      await client.query(`INSERT INTO whatsapp_sessions (id, org_id, name, created_by, updated_at) VALUES ($1, $2, 'b', 'test', now())`, [sessionB, orgB]);
      const message = (org: string, id: string) =>
        client.query(`INSERT INTO messages (id, org_id, session_id, wa_message_id, chat_jid, from_me, message_type, timestamp, raw) VALUES ($1::uuid, $2, $3, $1::text, 'chat', true, 'conversation', 1, '{}')`, [id, org, sessionB]);
      const outbox = (org: string, id: string) =>
        client.query(`INSERT INTO outbox_operations (id, org_id, session_id, kind, request_hash, request, deadline, updated_at) VALUES ($1, $2, $3, 'revoke', 'h', '{}', now(), now())`, [id, org, sessionB]);
      // Another organization's session is refused, as before: the compound key names (org, session).
      await expect(message(orgA, '0190a000-0000-7000-8000-0000000000c1')).rejects.toThrow(/foreign key/);
      await expect(outbox(orgA, '0190a000-0000-7000-8000-0000000000c2')).rejects.toThrow(/foreign key/);
      await message(orgB, '0190a000-0000-7000-8000-0000000000c3');
      await outbox(orgB, '0190a000-0000-7000-8000-0000000000c4');
      // Deleting the organization still takes its rows with it, through the session.
      await client.query('DELETE FROM organizations WHERE id = $1', [orgB]);
      const { rows: left } = await client.query<{ rows: number }>('SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM outbox_operations) AS rows');
      expect(Number(left[0]?.rows)).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('lets concurrent deployers race safely: one applies, the others find nothing to do', async () => {
    const url = await emptyDatabase();
    const results = await Promise.all([applyMigrations(url, MIGRATIONS_DIR), applyMigrations(url, MIGRATIONS_DIR), applyMigrations(url, MIGRATIONS_DIR)]);
    const appliedCounts = results.map((result) => result.applied.length).sort();
    expect(appliedCounts).toEqual([0, 0, readMigrationFiles(MIGRATIONS_DIR).length]);
  });

  it('refuses a migration that changed after it was applied', async () => {
    const url = await emptyDatabase();
    const copy = mkdtempSync(join(tmpdir(), 'wagw-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, copy, { recursive: true });
      await applyMigrations(url, copy);
      const first = readMigrationFiles(copy)[0];
      if (!first) throw new Error('no migrations');
      appendFileSync(join(copy, first.name, 'migration.sql'), '\n-- edited later\n');
      await expect(applyMigrations(url, copy)).rejects.toThrow(/changed after it was applied/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('rolls a failing migration back whole and records nothing', async () => {
    const url = await emptyDatabase();
    const copy = mkdtempSync(join(tmpdir(), 'wagw-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, copy, { recursive: true });
      await applyMigrations(url, copy);
      const broken = join(copy, '29991231000000_broken');
      cpSync(join(copy, readMigrationFiles(copy)[0]?.name ?? ''), broken, { recursive: true });
      writeFileSync(join(broken, 'migration.sql'), 'CREATE TABLE half_written (id int);\nSELECT * FROM no_such_table;\n');
      await expect(applyMigrations(url, copy)).rejects.toThrow(/29991231000000_broken failed/);
      expect(await tables(url)).not.toContain('half_written');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('has a migration for every change in schema.prisma (the snapshot matches the schema)', async () => {
    const snapshot = readFileSync(join(MIGRATIONS_DIR, SCHEMA_SNAPSHOT_FILE), 'utf8');
    const schema = readFileSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8');
    expect(await diffSchemas(inject('databaseUrl'), snapshot, schema)).toBe('');
    // And the check is able to see a difference.
    const changed = schema.replace('model AuditLogEntry {', 'model AuditLogEntry {\n  extraColumn String?');
    expect(await diffSchemas(inject('databaseUrl'), snapshot, changed)).toMatch(/ADD COLUMN\s+"extraColumn"/);
  });
});
