import type { DbClient } from '../prisma-client.js';
import type { ApiKey } from '../generated/client.js';
import { auditRow, type AuditEntry } from './audit-log.repository.js';
import { decodeCursor, isUuid, toPage, type PageRequest } from './pagination.js';

export interface NewApiKey {
  name: string;
  prefix: string;
  secretHash: string;
  capabilities: readonly string[];
  createdBy: string;
  expiresAt?: Date | null;
}

/** A key as listing shows it: everything but the secret's hash. */
export type ApiKeyListing = Omit<ApiKey, 'secretHash'>;

const LISTING_FIELDS = {
  id: true,
  orgId: true,
  name: true,
  prefix: true,
  capabilities: true,
  createdBy: true,
  createdAt: true,
  lastUsedAt: true,
  expiresAt: true,
  revokedAt: true,
} as const;

/** Writing `lastUsedAt` on every request would turn each read into a write; once a minute is enough. */
const LAST_USED_GRANULARITY_MS = 60_000;

export class ApiKeysRepository {
  constructor(private readonly db: DbClient) {}

  /** With `audit`, the key and its audit row are committed together. */
  async create(orgId: string, key: NewApiKey, audit?: (created: ApiKeyListing) => AuditEntry): Promise<ApiKeyListing> {
    return this.db.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: {
          orgId,
          name: key.name,
          prefix: key.prefix,
          secretHash: key.secretHash,
          capabilities: [...key.capabilities],
          createdBy: key.createdBy,
          expiresAt: key.expiresAt ?? null,
        },
        select: LISTING_FIELDS,
      });
      if (audit) await tx.auditLogEntry.create({ data: auditRow(orgId, audit(created)) });
      return created;
    });
  }

  /**
   * The one lookup that is not scoped by organization: authentication uses it to learn which
   * organization a key belongs to. The caller must compare the secret hash before trusting the row.
   */
  findForAuthentication(prefix: string): Promise<ApiKey | null> {
    return this.db.apiKey.findUnique({ where: { prefix } });
  }

  findById(orgId: string, id: string): Promise<ApiKeyListing | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.db.apiKey.findUnique({ where: { orgId_id: { orgId, id } }, select: LISTING_FIELDS });
  }

  /** Oldest first; revoked keys are listed (with `revokedAt`) only when asked for. */
  async list(orgId: string, page: PageRequest & { includeRevoked?: boolean }): Promise<{ rows: ApiKeyListing[]; nextCursor: string | null }> {
    const afterId = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = await this.db.apiKey.findMany({
      where: { orgId, ...(page.includeRevoked ? {} : { revokedAt: null }), ...(afterId === undefined ? {} : { id: { gt: afterId } }) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
      select: LISTING_FIELDS,
    });
    return toPage(rows, page.limit);
  }

  /**
   * Records a use of the key, at most once a minute. `lastUsedAt` is the value the caller read with
   * the key: when that is recent, nothing is sent to the database at all (no write per request).
   */
  async touchLastUsed(orgId: string, id: string, lastUsedAt: Date | null, now: Date = new Date()): Promise<void> {
    if (lastUsedAt !== null && now.getTime() - lastUsedAt.getTime() < LAST_USED_GRANULARITY_MS) return;
    await this.db.apiKey.updateMany({
      where: {
        orgId,
        id,
        OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_GRANULARITY_MS) } }],
      },
      data: { lastUsedAt: now },
    });
  }

  /**
   * Returns false when the key does not exist in this organization (or was already revoked). With
   * `audit`, the revocation and its audit row are committed together.
   */
  async revoke(orgId: string, id: string, audit?: AuditEntry, now: Date = new Date()): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.apiKey.updateMany({ where: { orgId, id, revokedAt: null }, data: { revokedAt: now } });
      if (count === 1 && audit) await tx.auditLogEntry.create({ data: auditRow(orgId, audit) });
      return count === 1;
    });
  }
}
