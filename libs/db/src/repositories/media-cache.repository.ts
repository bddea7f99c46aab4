import { Prisma } from '../generated/client.js';
import type { DbClient } from '../prisma-client.js';

/** A decrypted attachment as the cache holds it. */
export interface CachedFile {
  bytes: Buffer;
  mimetype: string;
}

/**
 * Received attachments, decrypted, shared by every gateway and worker: a worker stores one on its first
 * request, gateways serve it from here. The whole cache stays within a byte budget, evicting the files
 * read least recently; a message's deletion (its session's, its organization's) takes its file along.
 */
export class MediaCacheRepository {
  constructor(private readonly db: DbClient) {}

  /** The file of stored message `messageId` (our id, not WhatsApp's), marked read now; null when not cached. */
  async read(orgId: string, messageId: string): Promise<CachedFile | null> {
    const [row] = await this.db.$queryRaw<Array<{ bytes: Uint8Array; mimetype: string }>>(Prisma.sql`
      UPDATE media_cache SET last_read_at = now()
       WHERE org_id = ${orgId}::uuid AND message_id = ${messageId}::uuid
      RETURNING bytes, mimetype`);
    return row ? { bytes: Buffer.from(row.bytes), mimetype: row.mimetype } : null;
  }

  /**
   * Stores the file of stored message `messageId` and, in the same transaction, evicts the least
   * recently read files until the cache holds at most `budgetBytes` (the new file is kept: the caller
   * checked it fits). Storing it twice (two requests racing) keeps one copy.
   */
  async store(orgId: string, messageId: string, file: CachedFile, budgetBytes: number): Promise<void> {
    await this.db.$transaction([
      this.db.$executeRaw(Prisma.sql`
        INSERT INTO media_cache (org_id, message_id, bytes, size, mimetype)
        VALUES (${orgId}::uuid, ${messageId}::uuid, ${file.bytes}, ${file.bytes.length}, ${file.mimetype})
        ON CONFLICT (org_id, message_id) DO UPDATE SET last_read_at = now()`),
      this.db.$executeRaw(Prisma.sql`
        DELETE FROM media_cache AS cached USING (
          SELECT org_id, message_id, sum(size) OVER (ORDER BY last_read_at DESC, message_id DESC) AS held FROM media_cache
        ) AS ranked
        WHERE cached.org_id = ranked.org_id AND cached.message_id = ranked.message_id AND ranked.held > ${budgetBytes}
          AND NOT (cached.org_id = ${orgId}::uuid AND cached.message_id = ${messageId}::uuid)`),
    ]);
  }

  /** Bytes the cache holds, over every organization. */
  async heldBytes(): Promise<number> {
    const [row] = await this.db.$queryRaw<Array<{ held: bigint | null }>>(Prisma.sql`SELECT sum(size)::bigint AS held FROM media_cache`);
    return Number(row?.held ?? 0);
  }
}
