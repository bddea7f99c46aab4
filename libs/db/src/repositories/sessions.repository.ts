import { hotSql, type DbClient, type HotSql } from '../prisma-client.js';
import { Prisma, type WhatsAppSession } from '../generated/client.js';
import type { SessionStatus } from '../generated/enums.js';
import { decodeCursor, isUuid, toPage, type PageRequest } from './pagination.js';
import type { SessionFence } from './session-fence.js';

export interface NewSession {
  name: string;
  createdBy: string;
  metadata?: Record<string, string>;
}

/** A domain event about the session, written in the same transaction as the change it reports. */
export interface SessionEvent {
  id: string;
  type: string;
  payload: object;
}

/** A session as a command sees it. */
export interface CommandTarget {
  id: string;
  status: SessionStatus;
}

/** A stored message a command acts on (a revoke, a reaction, a reply's quote), as the command needs it. */
export interface CommandMessage {
  chatJid: string;
  senderJid: string | null;
  raw: unknown;
}

export class SessionsRepository {
  private readonly sql: HotSql;

  constructor(private readonly db: DbClient) {
    this.sql = hotSql(db);
  }

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

  /**
   * What a send or revoke needs of its session (that it is this organization's, and its status), in one
   * statement through `pg` (see HotSql): it runs on every command.
   */
  async commandTarget(orgId: string, sessionId: string): Promise<CommandTarget | null> {
    if (!isUuid(sessionId)) return null;
    const [row] = await this.sql.rows<CommandTarget>(Prisma.sql`SELECT id::text AS id, status::text AS status FROM whatsapp_sessions WHERE org_id = ${orgId}::uuid AND id = ${sessionId}::uuid`);
    return row ?? null;
  }

  /**
   * The session a command goes to and the stored message it acts on (`waMessageId`, in `chat` when
   * given; the first stored when the id is in several chats), in one statement: null when the session
   * is not this organization's, `message: null` when the message is not stored. Through `pg` (see HotSql):
   * it runs on every revoke, reaction and reply.
   */
  async commandTargetWithMessage(orgId: string, sessionId: string, waMessageId: string, chat?: string): Promise<{ target: CommandTarget; message: CommandMessage | null } | null> {
    if (!isUuid(sessionId)) return null;
    const [row] = await this.sql.rows<CommandTarget & { chatJid: string | null; senderJid: string | null; raw: unknown }>(Prisma.sql`
      SELECT session.id::text AS id, session.status::text AS status, message.chat_jid AS "chatJid", message.sender_jid AS "senderJid", message.raw
        FROM whatsapp_sessions session
        LEFT JOIN LATERAL (
          SELECT chat_jid, sender_jid, raw FROM messages
           WHERE org_id = session.org_id AND session_id = session.id AND wa_message_id = ${waMessageId} AND (${chat ?? null}::text IS NULL OR chat_jid = ${chat ?? null})
           ORDER BY created_at LIMIT 1
        ) message ON true
       WHERE session.org_id = ${orgId}::uuid AND session.id = ${sessionId}::uuid`);
    if (!row) return null;
    const target: CommandTarget = { id: row.id, status: row.status };
    // chat_jid is never null in a stored message: null here means the lateral join found none.
    return { target, message: row.chatJid === null ? null : { chatJid: row.chatJid, senderJid: row.senderJid, raw: row.raw } };
  }

  findByName(orgId: string, name: string): Promise<WhatsAppSession | null> {
    return this.db.whatsAppSession.findUnique({ where: { orgId_name: { orgId, name } } });
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

  update(orgId: string, sessionId: string, patch: Prisma.WhatsAppSessionUpdateManyMutationInput): Promise<Prisma.BatchPayload> {
    return this.db.whatsAppSession.updateMany({ where: { orgId, id: sessionId }, data: patch });
  }

  /**
   * The first write of a worker that took the session's lease: records it as the owner at `fence.epoch`
   * together with `patch` (a reader never sees the old status beside the new owner), unless a newer
   * epoch owns the row already. False when refused: nothing written.
   */
  claimAsOwner(fence: SessionFence, workerId: string, patch: Prisma.WhatsAppSessionUpdateManyMutationInput, event: SessionEvent | null): Promise<boolean> {
    const epoch = BigInt(fence.epoch);
    return this.fencedUpdate(fence, { lte: epoch }, { ...patch, ownerWorkerId: workerId, ownerEpoch: epoch }, event);
  }

  /**
   * A worker's write for the session it holds: applied only while `fence.epoch` still owns the row,
   * with `event` in the same transaction. False when refused (a newer owner took the session, or it was
   * deleted): nothing written, no event.
   */
  updateAsOwner(fence: SessionFence, patch: Prisma.WhatsAppSessionUpdateManyMutationInput, event: SessionEvent | null): Promise<boolean> {
    return this.fencedUpdate(fence, BigInt(fence.epoch), patch, event);
  }

  /** A status change and its `session.status` event are committed together or not at all. */
  private async fencedUpdate(
    fence: SessionFence,
    ownerEpoch: Prisma.WhatsAppSessionWhereInput['ownerEpoch'],
    patch: Prisma.WhatsAppSessionUpdateManyMutationInput,
    event: SessionEvent | null,
  ): Promise<boolean> {
    const { orgId, sessionId } = fence;
    const where = { orgId, id: sessionId, ownerEpoch };
    if (event === null) return (await this.db.whatsAppSession.updateMany({ where, data: patch })).count === 1;
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.whatsAppSession.updateMany({ where, data: patch });
      if (count === 1) await tx.domainEvent.create({ data: { id: event.id, orgId, sessionId, type: event.type, payload: event.payload as Prisma.InputJsonValue } });
      return count === 1;
    });
  }

  /**
   * A status change by someone other than the session's owner (the gateway, for a session no worker
   * runs): applied only if the status is still `from` (a worker's concurrent write wins), together with
   * its event, in one transaction. Answers whether it applied.
   */
  async transitionWithEvent(
    orgId: string,
    sessionId: string,
    from: SessionStatus,
    patch: Prisma.WhatsAppSessionUpdateManyMutationInput,
    event: SessionEvent,
  ): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.whatsAppSession.updateMany({ where: { orgId, id: sessionId, status: from }, data: patch });
      if (count !== 1) return false;
      await tx.domainEvent.create({ data: { id: event.id, orgId, sessionId, type: event.type, payload: event.payload as Prisma.InputJsonValue } });
      return true;
    });
  }

  /**
   * Deletes the session (its login, messages and outbox go with it) and, unless its status is already
   * `unlessStatus`, records `finalEvent` in the same transaction. The row is locked first, so a worker's
   * concurrent status write either lands before (and is seen here) or finds no row (and writes no event).
   */
  async deleteWithEvent(orgId: string, sessionId: string, unlessStatus: SessionStatus, finalEvent: SessionEvent): Promise<boolean> {
    if (!isUuid(sessionId)) return false;
    return this.db.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<Array<{ status: SessionStatus }>>`SELECT status FROM whatsapp_sessions WHERE org_id = ${orgId}::uuid AND id = ${sessionId}::uuid FOR UPDATE`;
      if (!row) return false;
      await tx.whatsAppSession.deleteMany({ where: { orgId, id: sessionId } });
      if (row.status !== unlessStatus) {
        await tx.domainEvent.create({ data: { id: finalEvent.id, orgId, sessionId, type: finalEvent.type, payload: finalEvent.payload as Prisma.InputJsonValue } });
      }
      return true;
    });
  }
}
