import { hotSql, type DbClient, type HotSql } from '../prisma-client.js';
import { Prisma } from '../generated/client.js';
import { fenceRow, type SessionFence } from './session-fence.js';

export interface KeyWrite {
  type: string;
  id: string;
  /** JSON text, or null to delete the key. */
  json: string | null;
}

/**
 * Baileys' creds and Signal keys of one session. Every worker's write is fenced on the owner epoch in the
 * same statement: a worker that lost the session's lease cannot overwrite what the new owner wrote.
 */
/**
 * The statements behind the auth state, for the repository and for anything that must run exactly
 * the same SQL another way (the benchmark's bare-Baileys floor sends them as prepared statements
 * through `pg` directly).
 */
export const authStateStatements = {
  loadCreds: (orgId: string, sessionId: string): Prisma.Sql => Prisma.sql`
    SELECT creds::text AS creds FROM auth_creds WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid`,

  saveCreds: (orgId: string, sessionId: string, epoch: number, json: string): Prisma.Sql => Prisma.sql`
    WITH fence AS (${fenceRow({ orgId, sessionId, epoch })})
    INSERT INTO auth_creds (session_id, org_id, creds, updated_at)
    SELECT ${sessionId}::uuid, ${orgId}::uuid, ${json}::jsonb, now()
    WHERE EXISTS (SELECT 1 FROM fence)
    ON CONFLICT (session_id) DO UPDATE SET creds = EXCLUDED.creds, updated_at = now()`,

  getKeys: (orgId: string, sessionId: string, type: string, ids: readonly string[]): Prisma.Sql => Prisma.sql`
    SELECT key_id, value::text AS value FROM auth_keys
    WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND type = ${type} AND key_id = ANY(${[...ids]}::text[])`,

  /** Upserts and deletes in one statement, answering `fenced`: whether `epoch` still owns the session. */
  setKeys: (orgId: string, sessionId: string, epoch: number, writes: readonly KeyWrite[]): Prisma.Sql => {
    const upserts = writes.filter((write): write is KeyWrite & { json: string } => write.json !== null);
    const deletes = writes.filter((write) => write.json === null);
    return Prisma.sql`
    WITH fence AS (${fenceRow({ orgId, sessionId, epoch })}), upserted AS (
      INSERT INTO auth_keys (session_id, org_id, type, key_id, value, updated_at)
      SELECT ${sessionId}::uuid, ${orgId}::uuid, t, k, v::jsonb, now()
        FROM unnest(${upserts.map((write) => write.type)}::text[], ${upserts.map((write) => write.id)}::text[], ${upserts.map((write) => write.json)}::text[]) AS u(t, k, v)
       WHERE EXISTS (SELECT 1 FROM fence)
      ON CONFLICT (session_id, type, key_id) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
      RETURNING 1
    ), deleted AS (
      DELETE FROM auth_keys
       WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND EXISTS (SELECT 1 FROM fence)
         AND (type, key_id) IN (SELECT * FROM unnest(${deletes.map((write) => write.type)}::text[], ${deletes.map((write) => write.id)}::text[]))
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM fence) AS fenced`;
  },
};

/** What Baileys' auth state needs of its store (see loadPostgresAuthState). */
export type AuthStateStore = Pick<AuthStateRepository, 'loadCreds' | 'saveCreds' | 'getKeys' | 'setKeys'>;

export class AuthStateRepository {
  /** Every statement here runs inside a send: through `pg` directly (see HotSql). */
  private readonly sql: HotSql;

  constructor(private readonly db: DbClient) {
    this.sql = hotSql(db);
  }

  async loadCreds(orgId: string, sessionId: string): Promise<string | null> {
    const rows = await this.sql.rows<{ creds: string }>(authStateStatements.loadCreds(orgId, sessionId));
    return rows[0]?.creds ?? null;
  }

  /** False when the caller no longer holds `epoch` (nothing written). */
  async saveCreds(orgId: string, sessionId: string, epoch: number, json: string): Promise<boolean> {
    return (await this.sql.count(authStateStatements.saveCreds(orgId, sessionId, epoch, json))) === 1;
  }

  async getKeys(orgId: string, sessionId: string, type: string, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.sql.rows<{ key_id: string; value: string }>(authStateStatements.getKeys(orgId, sessionId, type, ids));
    return new Map(rows.map((row) => [row.key_id, row.value]));
  }

  /**
   * Applies upserts and deletes in one statement (one round trip: this runs inside every send);
   * false, and nothing written, when `epoch` is stale. The statement locks the session row (FOR SHARE)
   * before writing, so a takeover that bumps the epoch waits for it or makes it write nothing.
   */
  async setKeys(orgId: string, sessionId: string, epoch: number, writes: readonly KeyWrite[]): Promise<boolean> {
    if (writes.length === 0) return true;
    const [outcome] = await this.sql.rows<{ fenced: boolean }>(authStateStatements.setKeys(orgId, sessionId, epoch, writes));
    return outcome?.fenced === true;
  }

  /** After a logout seen by the worker holding `fence`: the device is unlinked, its keys are worthless. */
  async wipeAsOwner(fence: SessionFence): Promise<boolean> {
    const { orgId, sessionId } = fence;
    const [outcome] = await this.sql.rows<{ fenced: boolean }>(Prisma.sql`
      WITH fence AS (${fenceRow(fence)}), keys AS (
        DELETE FROM auth_keys WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND EXISTS (SELECT 1 FROM fence) RETURNING 1
      ), creds AS (
        DELETE FROM auth_creds WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND EXISTS (SELECT 1 FROM fence) RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM fence) AS fenced`);
    return outcome?.fenced === true;
  }

  /** After a logout through the API, of a session no worker runs: the device is unlinked, its keys are worthless. */
  async wipe(orgId: string, sessionId: string): Promise<void> {
    await this.db.$transaction([
      this.db.authKey.deleteMany({ where: { orgId, sessionId } }),
      this.db.authCreds.deleteMany({ where: { orgId, sessionId } }),
    ]);
  }
}
