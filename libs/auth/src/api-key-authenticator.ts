import { Injectable } from '@nestjs/common';
import { isCapability, type Principal } from '@wagw/contracts';
import { ApiKeysRepository } from '@wagw/db';
import { apiKeyMatches, apiKeyPrefix } from './api-key-secret.js';

@Injectable()
export class ApiKeyAuthenticator {
  constructor(private readonly apiKeys: ApiKeysRepository) {}

  /**
   * The principal for a valid, unrevoked, unexpired key, else null. No caching: a revoked key must fail
   * on every gateway replica at once.
   */
  async authenticate(token: string, now: Date = new Date()): Promise<Principal | null> {
    const prefix = apiKeyPrefix(token);
    if (prefix === null) return null;
    const row = await this.apiKeys.findForAuthentication(prefix);
    if (!row || !apiKeyMatches(token, row.secretHash)) return null;
    if (row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) return null;
    this.apiKeys.touchLastUsed(row.orgId, row.id, row.lastUsedAt, now).catch(() => undefined);
    return { orgId: row.orgId, subject: row.id, kind: 'api_key', capabilities: row.capabilities.filter(isCapability) };
  }
}
