import { MESSAGE_ACKS } from '@wagw/contracts';
import { hotSql, type DbClient, type HotSql } from '../prisma-client.js';
import { Prisma, type StoredMessage } from '../generated/client.js';
import { auditInsertAfter, type AuditEntry } from './audit-log.repository.js';
import { uuidV7 } from './ids.js';
import { decodeCursor, isUuid, limitLiteral, toPage, type PageRequest } from './pagination.js';
import { fenceRow, type SessionFence } from './session-fence.js';
import { utcTimestamp } from './sql-time.js';

export interface NewStoredMessage {
  waMessageId: string;
  chatJid: string;
  senderJid: string | null;
  fromMe: boolean;
  messageType: string;
  text: string | null;
  /** The attachment's description (`StoredMedia`), null without one. */
  media: object | null;
  /** Unix seconds. */
  timestamp: number;
  ack: number;
  raw: Prisma.InputJsonValue;
}

/** A send's or revoke's outcome, recorded in the same statement as the message: its outbox operation and `SendResult`. */
export interface SentOutcome {
  outboxId: string;
  result: object;
  waMessageId: string;
}

/** The revoke command's outcome, recorded with the revoke itself (one commit). */
export interface RevokeOutcome extends SentOutcome {
  /** Its audit entry, written when the outcome is (once). */
  audit?: AuditEntry;
}

/**
 * The fenced insert of a message, for a statement that has a `fence` CTE. A message stored before
 * keeps its first copy: `take newer ack` raises its ack (our own messages, whose ack only grows), otherwise
 * nothing is written and nothing returned (a message or revoke recorded once).
 */
function messageInsert(fence: SessionFence, message: NewStoredMessage, now: Date, onConflict: 'take newer ack' | 'keep first'): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO messages (id, org_id, session_id, wa_message_id, chat_jid, sender_jid, from_me, message_type, text, media, timestamp, ack, raw, created_at)
    SELECT ${uuidV7(now.getTime())}::uuid, ${fence.orgId}::uuid, ${fence.sessionId}::uuid, ${message.waMessageId}, ${message.chatJid}, ${message.senderJid}, ${message.fromMe},
           ${message.messageType}, ${message.text}, ${message.media === null ? null : JSON.stringify(message.media)}::jsonb, ${BigInt(message.timestamp)}, ${message.ack}, ${JSON.stringify(message.raw)}::jsonb, ${utcTimestamp(now)}::timestamp
     WHERE EXISTS (SELECT 1 FROM fence)
    ${onConflict === 'take newer ack' ? Prisma.sql`ON CONFLICT (org_id, session_id, chat_jid, wa_message_id) DO UPDATE SET ack = GREATEST(messages.ack, EXCLUDED.ack)` : Prisma.sql`ON CONFLICT DO NOTHING`}`;
}

/** The operation finished as sent (none when `outcome` is undefined), once the CTE named `gate` returned a row. */
function sentOutcomeAfter(gate: 'stored' | 'inserted', orgId: string, outcome: SentOutcome | undefined, now: Date): Prisma.Sql {
  const at = utcTimestamp(now);
  return Prisma.sql`
    UPDATE outbox_operations SET status = 'sent', result = ${outcome === undefined ? null : JSON.stringify(outcome.result)}::jsonb, wa_message_id = ${outcome?.waMessageId ?? null},
           completed_at = ${at}::timestamp, updated_at = ${at}::timestamp
     WHERE org_id = ${orgId}::uuid AND id = ${outcome?.outboxId ?? null}::uuid AND status = 'pending' AND EXISTS (SELECT 1 FROM ${Prisma.raw(gate)})
    RETURNING 1`;
}

/** The message a revoke takes back, as the revoke's event describes it. */
export interface RevokedOriginal {
  id: string;
  waMessageId: string;
  chatJid: string;
  raw: unknown;
  ack: number;
  text: string | null;
  revoked: boolean;
}

/** One of our messages as its `message.ack` event describes it, at the ack it reached. */
export interface AckedMessage {
  raw: unknown;
  ack: number;
  text: string | null;
}

export class MessagesRepository {
  /** The worker's writes (one or two inside every send and revoke): through `pg` directly. */
  private readonly sql: HotSql;

  constructor(private readonly db: DbClient) {
    this.sql = hotSql(db);
  }

  /**
   * Stores a message the session sent (or its phone did), as the worker holding `fence` (false and
   * nothing written otherwise); a message seen again (retry, echo) keeps its first copy and takes the
   * newer ack.
   */
  async store(fence: SessionFence, message: NewStoredMessage, now: Date = new Date()): Promise<boolean> {
    const written = await this.sql.count(Prisma.sql`WITH fence AS (${fenceRow(fence)}) ${messageInsert(fence, message, now, 'take newer ack')}`);
    return written === 1;
  }

  /**
   * Our send, stored (as `store` does) with its operation's outcome, in one statement: one commit for
   * both. Answers whether the outcome was recorded (not when the operation was finished before, or the
   * fence is stale: nothing is written then).
   */
  async storeSent(fence: SessionFence, message: NewStoredMessage, outcome: SentOutcome, now: Date = new Date()): Promise<boolean> {
    const [result] = await this.sql.rows<{ finished: boolean }>(Prisma.sql`
      WITH fence AS (${fenceRow(fence)}), stored AS (${messageInsert(fence, message, now, 'take newer ack')} RETURNING 1),
      finished AS (${sentOutcomeAfter('stored', fence.orgId, outcome, now)})
      SELECT EXISTS (SELECT 1 FROM finished) AS finished`);
    return result?.finished === true;
  }

  /** The message `waMessageId` of a session, in `chat` when given; another org's message is not found. */
  find(orgId: string, sessionId: string, waMessageId: string, chat?: string): Promise<StoredMessage | null> {
    if (!isUuid(sessionId)) return Promise.resolve(null);
    return this.db.storedMessage.findFirst({
      where: { orgId, sessionId, waMessageId, ...(chat === undefined ? {} : { chatJid: chat }) },
      orderBy: { createdAt: 'asc' },
    });
  }

  /**
   * Stores a message someone sent to the session and writes its `message.received` event (or, for a
   * reaction, `message.reaction`) in the same
   * statement, once, as the worker holding `fence`: a message seen again (offline queue replayed,
   * retry), or a stale fence, records nothing (null).
   */
  async storeReceived(
    fence: SessionFence,
    message: NewStoredMessage,
    buildEvent: (eventId: string) => object,
    now: Date = new Date(),
    eventType: 'message.received' | 'message.reaction' = 'message.received',
  ): Promise<{ eventId: string } | null> {
    const { orgId, sessionId } = fence;
    const eventId = uuidV7(now.getTime());
    const at = utcTimestamp(now);
    const [result] = await this.sql.rows<{ inserted: boolean }>(Prisma.sql`
      WITH fence AS (${fenceRow(fence)}), inserted AS (${messageInsert(fence, message, now, 'keep first')} RETURNING 1), event AS (
        INSERT INTO domain_events (id, org_id, session_id, type, payload, created_at)
        SELECT ${eventId}::uuid, ${orgId}::uuid, ${sessionId}::uuid, ${eventType}, ${JSON.stringify(buildEvent(eventId))}::jsonb, ${at}::timestamp WHERE EXISTS (SELECT 1 FROM inserted)
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM inserted) AS inserted`);
    return result?.inserted === true ? { eventId } : null;
  }

  /**
   * Raises one of our messages to `ack` and writes its `message.ack` event in the same statement, as the
   * worker holding `fence`: once per step, since acks only grow (a delivery receipt after the read one,
   * or a receipt seen again, changes nothing and answers null). Found by id, not by chat: a receipt may
   * name the chat by LID where the message named it by phone number. `not_stored` when we have no such
   * message (yet: a receipt can overtake the commit of the send it is for).
   */
  async recordAck(fence: SessionFence, waMessageId: string, ack: number, buildEvent: (eventId: string, message: AckedMessage) => object, now: Date = new Date()): Promise<{ eventId: string } | null | 'not_stored'> {
    const { orgId, sessionId } = fence;
    const [stored] = await this.sql.rows<{ id: string; raw: unknown; ack: number; text: string | null }>(Prisma.sql`
      SELECT id::text AS id, raw, ack, text FROM messages
       WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND wa_message_id = ${waMessageId} AND from_me
       ORDER BY created_at LIMIT 1`);
    if (!stored) return 'not_stored';
    if (stored.ack >= ack) return null;
    const eventId = uuidV7(now.getTime());
    const at = utcTimestamp(now);
    const [result] = await this.sql.rows<{ updated: boolean }>(Prisma.sql`
      WITH fence AS (${fenceRow(fence)}), updated AS (
        UPDATE messages SET ack = ${ack} WHERE org_id = ${orgId}::uuid AND id = ${stored.id}::uuid AND ack < ${ack} AND EXISTS (SELECT 1 FROM fence)
        RETURNING 1
      ), event AS (
        INSERT INTO domain_events (id, org_id, session_id, type, payload, created_at)
        SELECT ${eventId}::uuid, ${orgId}::uuid, ${sessionId}::uuid, 'message.ack', ${JSON.stringify(buildEvent(eventId, { raw: stored.raw, ack, text: stored.text }))}::jsonb, ${at}::timestamp WHERE EXISTS (SELECT 1 FROM updated)
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM updated) AS updated`);
    return result?.updated === true ? { eventId } : null;
  }

  /**
   * Records an edit once: the edit itself (WhatsApp's protocol message), the original's text replaced,
   * and a `message.edited` event, in one statement, as the worker holding `fence`. The edit's own id is
   * the idempotency key: seen again, it records nothing (null). Only the author's own message is
   * edited (`fromMe` as the edit has it); one we never stored still gets its event.
   */
  async recordEdit(fence: SessionFence, edit: NewStoredMessage, original: { waMessageId: string; text: string }, buildEvent: (eventId: string) => object, now: Date = new Date()): Promise<{ eventId: string } | null> {
    const { orgId, sessionId } = fence;
    const eventId = uuidV7(now.getTime());
    const at = utcTimestamp(now);
    const [result] = await this.sql.rows<{ inserted: boolean }>(Prisma.sql`
      WITH fence AS (${fenceRow(fence)}), inserted AS (${messageInsert(fence, edit, now, 'keep first')} RETURNING 1), edited AS (
        UPDATE messages SET text = ${original.text}
         WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND wa_message_id = ${original.waMessageId} AND from_me = ${edit.fromMe}
           AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM inserted)
        RETURNING 1
      ), event AS (
        INSERT INTO domain_events (id, org_id, session_id, type, payload, created_at)
        SELECT ${eventId}::uuid, ${orgId}::uuid, ${sessionId}::uuid, 'message.edited', ${JSON.stringify(buildEvent(eventId))}::jsonb, ${at}::timestamp WHERE EXISTS (SELECT 1 FROM inserted)
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM inserted) AS inserted`);
    return result?.inserted === true ? { eventId } : null;
  }

  /** The newest messages someone sent in `chat` that this session has not marked read, up to `limit`. */
  unreadReceived(orgId: string, sessionId: string, chatJid: string, limit: number): Promise<Array<{ waMessageId: string; raw: unknown }>> {
    if (!isUuid(sessionId)) return Promise.resolve([]);
    return this.sql.rows<{ waMessageId: string; raw: unknown }>(Prisma.sql`
      SELECT wa_message_id AS "waMessageId", raw FROM messages
       WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND chat_jid = ${chatJid} AND NOT from_me AND ack < ${MESSAGE_ACKS.READ} AND revoked_at IS NULL
         AND message_type NOT IN ('reactionMessage', 'protocolMessage')
       ORDER BY timestamp DESC, created_at DESC LIMIT ${limitLiteral(limit)}`);
  }

  /** Raises messages someone sent in `chat` to READ (this session read them), as the worker holding `fence`. */
  async markReceivedRead(fence: SessionFence, chatJid: string, waMessageIds: string[]): Promise<number> {
    return this.sql.count(Prisma.sql`
      WITH fence AS (${fenceRow(fence)})
      UPDATE messages SET ack = ${MESSAGE_ACKS.READ}
       WHERE org_id = ${fence.orgId}::uuid AND session_id = ${fence.sessionId}::uuid AND chat_jid = ${chatJid} AND wa_message_id = ANY(${waMessageIds}::text[])
         AND NOT from_me AND ack < ${MESSAGE_ACKS.READ} AND EXISTS (SELECT 1 FROM fence)`);
  }

  /** Marks a message revoked (its revoke was recorded before), as the worker holding `fence`. */
  async markRevoked(fence: SessionFence, chatJid: string, waMessageId: string, revokedBy: string | null, at: Date = new Date()): Promise<boolean> {
    const count = await this.sql.count(Prisma.sql`
      WITH fence AS (${fenceRow(fence)})
      UPDATE messages SET revoked_at = ${utcTimestamp(at)}::timestamp, revoked_by = ${revokedBy}
       WHERE org_id = ${fence.orgId}::uuid AND session_id = ${fence.sessionId}::uuid AND chat_jid = ${chatJid} AND wa_message_id = ${waMessageId}
         AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM fence)`);
    return count > 0;
  }

  /**
   * Records a revoke once: the revoke message itself, the original marked revoked, and a domain event,
   * atomically (a transactional outbox: nothing committed is lost, nothing is half written), as the
   * worker holding `fence` (a stale fence records nothing and returns null). The
   * revoke's own WhatsApp id is the idempotency key: the same revoke seen again (Baileys reports it
   * both as an upsert and from our own send) records nothing and returns null.
   *
   * Two round trips, as this runs for every revoke: one read finds the original and whether the revoke
   * is recorded already, one statement writes all three rows (or none, when a concurrent copy of the
   * same revoke won the insert). Our own revoke passes its command's `outcome`: the outbox operation is
   * finished in that same statement (one commit instead of two); `outcomeRecorded` says whether it was.
   */
  async recordRevoke(
    fence: SessionFence,
    revoke: NewStoredMessage,
    original: { waMessageId: string; chatJid: string; revokedBy: string | null },
    buildEvent: (eventId: string, original: RevokedOriginal | null) => object,
    now: Date = new Date(),
    outcome?: RevokeOutcome,
  ): Promise<{ eventId: string; outcomeRecorded: boolean } | null> {
    const { orgId, sessionId } = fence;
    const candidates = await this.sql.rows<RevokedOriginal>(Prisma.sql`
      SELECT id::text AS id, wa_message_id AS "waMessageId", chat_jid AS "chatJid", raw, ack, text, revoked_at IS NOT NULL AS revoked FROM messages
       WHERE org_id = ${orgId}::uuid AND session_id = ${sessionId}::uuid AND wa_message_id = ANY(${[revoke.waMessageId, original.waMessageId]}::text[])
       ORDER BY created_at`);
    // Seen before, perhaps under the other form of the chat's JID: recorded already.
    if (candidates.some((row) => row.waMessageId === revoke.waMessageId)) return null;
    // The chat may be named by phone number on one side and by LID on the other.
    const stored = candidates.find((row) => row.chatJid === original.chatJid) ?? candidates[0] ?? null;
    const eventId = uuidV7(now.getTime());
    const payload = JSON.stringify(buildEvent(eventId, stored));
    const at = utcTimestamp(now);
    const audit = outcome?.audit;
    const [result] = await this.sql.rows<{ inserted: boolean; finished: boolean }>(Prisma.sql`
      WITH fence AS (${fenceRow(fence)}), inserted AS (${messageInsert(fence, revoke, now, 'keep first')} RETURNING 1), marked AS (
        UPDATE messages SET revoked_at = ${at}::timestamp, revoked_by = ${original.revokedBy}
         WHERE org_id = ${orgId}::uuid AND id = ${stored?.id ?? null}::uuid AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM inserted)
        RETURNING 1
      ), event AS (
        INSERT INTO domain_events (id, org_id, session_id, type, payload, created_at)
        SELECT ${eventId}::uuid, ${orgId}::uuid, ${sessionId}::uuid, 'message.revoked', ${payload}::jsonb, ${at}::timestamp WHERE EXISTS (SELECT 1 FROM inserted)
        RETURNING 1
      ), finished AS (${sentOutcomeAfter('inserted', orgId, outcome, now)}), audited AS (${auditInsertAfter('finished', orgId, audit, now)})
      SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, EXISTS (SELECT 1 FROM finished) AS finished`);
    return result?.inserted === true ? { eventId, outcomeRecorded: result.finished } : null;
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
