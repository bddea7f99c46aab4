import { Injectable } from '@nestjs/common';
import { isCapability, type Principal } from '@wagw/contracts';
import { ApiKeysRepository, type ApiKey } from '@wagw/db';
import { apiKeyMatches, apiKeyPrefix } from './api-key-secret.js';

/**
 * How long a key's row, once read, answers for that key without reading it again. A revocation or an
 * expiry takes effect on the replica that made it at once (see `forget`) and on every other replica
 * within this long: no invalidation message to lose.
 */
export const API_KEY_ROW_REUSE_MS = 1_000;
/** Rows kept at most (oldest dropped first): one per key in use in the last second. */
const API_KEY_ROWS_MAX = 10_000;

@Injectable()
export class ApiKeyAuthenticator {
  /** Rows read in the last API_KEY_ROW_REUSE_MS, by prefix: only prefixes that exist (a made-up prefix is read every time, and keeps nothing). */
  private readonly recentRows = new Map<string, { row: ApiKey; readAt: number }>();

  constructor(private readonly apiKeys: ApiKeysRepository) {}

  /** The principal for a valid, unrevoked, unexpired key, else null; the secret is checked on every call. */
  async authenticate(token: string, now: Date = new Date()): Promise<Principal | null> {
    const prefix = apiKeyPrefix(token);
    if (prefix === null) return null;
    const row = await this.rowFor(prefix, now.getTime());
    if (!row || !apiKeyMatches(token, row.secretHash)) return null;
    if (row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) return null;
    this.apiKeys.touchLastUsed(row.orgId, row.id, row.lastUsedAt, now).catch(() => undefined);
    return { orgId: row.orgId, subject: row.id, kind: 'api_key', capabilities: row.capabilities.filter(isCapability) };
  }

  /** The key behind `prefix` changed here (revoked): the next request reads it again. */
  forget(prefix: string): void {
    this.recentRows.delete(prefix);
  }

  private async rowFor(prefix: string, nowMs: number): Promise<ApiKey | null> {
    const recent = this.recentRows.get(prefix);
    if (recent && nowMs - recent.readAt >= 0 && nowMs - recent.readAt < API_KEY_ROW_REUSE_MS) return recent.row;
    const row = await this.apiKeys.findForAuthentication(prefix);
    this.recentRows.delete(prefix);
    if (row) {
      this.recentRows.set(prefix, { row, readAt: nowMs });
      if (this.recentRows.size > API_KEY_ROWS_MAX) this.recentRows.delete(this.recentRows.keys().next().value ?? '');
    }
    return row;
  }
}
