import type { DbClient } from '../prisma-client.js';
import type { Prisma, StoredMessage } from '../generated/client.js';
import { decodeCursor, isUuid, toPage, type PageRequest } from './pagination.js';

export interface NewStoredMessage {
  waMessageId: string;
  chatJid: string;
  senderJid: string | null;
  fromMe: boolean;
  messageType: string;
  text: string | null;
  /** Unix seconds. */
  timestamp: number;
  ack: number;
  raw: Prisma.InputJsonValue;
}

export class MessagesRepository {
  constructor(private readonly db: DbClient) {}

  /** Stores a sent or received message; a message seen again (retry, echo) keeps its first copy. */
  async store(orgId: string, sessionId: string, message: NewStoredMessage): Promise<StoredMessage> {
    return this.db.storedMessage.upsert({
      where: { sessionId_chatJid_waMessageId: { sessionId, chatJid: message.chatJid, waMessageId: message.waMessageId } },
      create: { orgId, sessionId, ...message, timestamp: BigInt(message.timestamp) },
      update: { ack: message.ack },
    });
  }

  /** The message `waMessageId` of a session, in `chat` when given; another org's message is not found. */
  find(orgId: string, sessionId: string, waMessageId: string, chat?: string): Promise<StoredMessage | null> {
    if (!isUuid(sessionId)) return Promise.resolve(null);
    return this.db.storedMessage.findFirst({
      where: { orgId, sessionId, waMessageId, ...(chat === undefined ? {} : { chatJid: chat }) },
      orderBy: { createdAt: 'asc' },
    });
  }

  async markRevoked(orgId: string, sessionId: string, chatJid: string, waMessageId: string, revokedBy: string | null, at: Date = new Date()): Promise<boolean> {
    const { count } = await this.db.storedMessage.updateMany({
      where: { orgId, sessionId, chatJid, waMessageId, revokedAt: null },
      data: { revokedAt: at, revokedBy },
    });
    return count > 0;
  }

  async list(orgId: string, sessionId: string, page: PageRequest & { chat?: string | undefined }): Promise<{ rows: StoredMessage[]; nextCursor: string | null }> {
    const afterId = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = await this.db.storedMessage.findMany({
      where: { orgId, sessionId, ...(page.chat === undefined ? {} : { chatJid: page.chat }), ...(afterId === undefined ? {} : { id: { lt: afterId } }) },
      orderBy: { id: 'desc' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit);
  }
}
