import type { DbClient } from '../prisma-client.js';
import type { ApiKey } from '../generated/client.js';
import { isUuid } from './pagination.js';

export interface NewApiKey {
  name: string;
  prefix: string;
  secretHash: string;
  capabilities: readonly string[];
  createdBy: string;
  expiresAt?: Date | null;
}

/** Writing `lastUsedAt` on every request would turn each read into a write; once a minute is enough. */
const LAST_USED_GRANULARITY_MS = 60_000;

export class ApiKeysRepository {
  constructor(private readonly db: DbClient) {}

  create(orgId: string, key: NewApiKey): Promise<ApiKey> {
    return this.db.apiKey.create({
      data: {
        orgId,
        name: key.name,
        prefix: key.prefix,
        secretHash: key.secretHash,
        capabilities: [...key.capabilities],
        createdBy: key.createdBy,
        expiresAt: key.expiresAt ?? null,
      },
    });
  }

  /**
   * The one lookup that is not scoped by organization: authentication uses it to learn which
   * organization a key belongs to. The caller must compare the secret hash before trusting the row.
   */
  findForAuthentication(prefix: string): Promise<ApiKey | null> {
    return this.db.apiKey.findUnique({ where: { prefix } });
  }

  async touchLastUsed(orgId: string, id: string, now: Date = new Date()): Promise<void> {
    await this.db.apiKey.updateMany({
      where: {
        orgId,
        id,
        OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_GRANULARITY_MS) } }],
      },
      data: { lastUsedAt: now },
    });
  }

  /** Returns false when the key does not exist in this organization (or was already revoked). */
  async revoke(orgId: string, id: string, now: Date = new Date()): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { count } = await this.db.apiKey.updateMany({ where: { orgId, id, revokedAt: null }, data: { revokedAt: now } });
    return count === 1;
  }
}
