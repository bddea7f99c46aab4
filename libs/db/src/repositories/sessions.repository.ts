import type { DbClient } from '../prisma-client.js';
import type { WhatsAppSession } from '../generated/client.js';
import { decodeCursor, isUuid, toPage, type PageRequest } from './pagination.js';

export interface NewSession {
  name: string;
  createdBy: string;
  metadata?: Record<string, string>;
}

export class SessionsRepository {
  constructor(private readonly db: DbClient) {}

  create(orgId: string, session: NewSession): Promise<WhatsAppSession> {
    return this.db.whatsAppSession.create({
      data: { orgId, name: session.name, createdBy: session.createdBy, metadata: session.metadata ?? {} },
    });
  }

  /** Another organization's session is indistinguishable from a missing one. */
  findById(orgId: string, sessionId: string): Promise<WhatsAppSession | null> {
    if (!isUuid(sessionId)) return Promise.resolve(null);
    return this.db.whatsAppSession.findUnique({ where: { orgId_id: { orgId, id: sessionId } } });
  }

  async list(orgId: string, page: PageRequest): Promise<{ rows: WhatsAppSession[]; nextCursor: string | null }> {
    const afterId = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = await this.db.whatsAppSession.findMany({
      where: { orgId, ...(afterId === undefined ? {} : { id: { gt: afterId } }) },
      orderBy: { id: 'asc' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit);
  }
}
