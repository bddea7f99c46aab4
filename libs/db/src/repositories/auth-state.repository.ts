import type { DbClient } from '../prisma-client.js';
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
export class AuthStateRepository {
  constructor(private readonly db: DbClient) {}

  async loadCreds(orgId: string, sessionId: string): Promise<string | null> {
    const rows = await this.db.$queryRaw<Array<{ creds: string }>>`
      SELECT creds::text AS creds FROM auth_creds WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid`;
    return rows[0]?.creds ?? null;
  }

  /** False when the caller no longer holds `epoch` (nothing written). */
  async saveCreds(orgId: string, sessionId: string, epoch: number, json: string): Promise<boolean> {
    const written = await this.db.$executeRaw`
      WITH fence AS (${fenceRow({ orgId, sessionId, epoch })})
      INSERT INTO auth_creds (session_id, org_id, creds, updated_at)
      SELECT ${sessionId}::uuid, ${orgId}::uuid, ${json}::jsonb, now()
      WHERE EXISTS (SELECT 1 FROM fence)
      ON CONFLICT (session_id) DO UPDATE SET creds = EXCLUDED.creds, updated_at = now()`;
    return written === 1;
  }

  async getKeys(orgId: string, sessionId: string, type: string, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.$queryRaw<Array<{ key_id: string; value: string }>>`
      SELECT key_id, value::text AS value FROM auth_keys
      WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND type = ${type} AND key_id = ANY(${[...ids]}::text[])`;
    return new Map(rows.map((row) => [row.key_id, row.value]));
  }

  /**
   * Applies upserts and deletes in one statement (one round trip: this runs inside every send);
   * false, and nothing written, when `epoch` is stale. The statement locks the session row (FOR SHARE)
   * before writing, so a takeover that bumps the epoch waits for it or makes it write nothing.
   */
  async setKeys(orgId: string, sessionId: string, epoch: number, writes: readonly KeyWrite[]): Promise<boolean> {
    if (writes.length === 0) return true;
    const upserts = writes.filter((write): write is KeyWrite & { json: string } => write.json !== null);
    const deletes = writes.filter((write) => write.json === null);
    const [outcome] = await this.db.$queryRaw<Array<{ fenced: boolean }>>`
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
    return outcome?.fenced === true;
  }

  /** After a logout seen by the worker holding `fence`: the device is unlinked, its keys are worthless. */
  async wipeAsOwner(fence: SessionFence): Promise<boolean> {
    const { orgId, sessionId } = fence;
    const [outcome] = await this.db.$queryRaw<Array<{ fenced: boolean }>>`
      WITH fence AS (${fenceRow(fence)}), keys AS (
        DELETE FROM auth_keys WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND EXISTS (SELECT 1 FROM fence) RETURNING 1
      ), creds AS (
        DELETE FROM auth_creds WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND EXISTS (SELECT 1 FROM fence) RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM fence) AS fenced`;
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
