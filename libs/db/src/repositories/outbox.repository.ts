import { hotSql, type DbClient, type HotSql } from '../prisma-client.js';
import { Prisma, type OutboxOperation } from '../generated/client.js';
import { auditInsertAfter, type AuditEntry } from './audit-log.repository.js';
import { uuidV7 } from './ids.js';
import { fenceRow, type SessionFence } from './session-fence.js';
import { utcTimestamp } from './sql-time.js';

/** How long an `Idempotency-Key` keeps answering with the stored result. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface NewOutboxOperation {
  sessionId: string;
  kind: 'send' | 'revoke';
  idempotencyKey: string | null;
  requestHash: string;
  request: Prisma.InputJsonValue;
  deadline: Date;
}

/** A new operation is named by its id and session; an existing one (the same idempotency key) comes whole, for its replay. */
export type OutboxCreation = { created: true; operation: { id: string; sessionId: string } } | { created: false; operation: OutboxOperation };

/** What a worker needs of an operation before running it: whether it finished, and how. */
export interface OperationOutcome {
  status: 'pending' | 'sent' | 'failed' | 'expired';
  result: Prisma.JsonValue | null;
  error: Prisma.JsonValue | null;
}

export class OutboxRepository {
  /** The worker's statements (one outcome read and one write per command): through `pg` directly. */
  private readonly sql: HotSql;

  constructor(private readonly db: DbClient) {
    this.sql = hotSql(db);
  }

  /**
   * Writes the operation, or, when the organization already used this idempotency key within the
   * window, returns that operation instead (the caller compares the request hash).
   */
  async create(orgId: string, operation: NewOutboxOperation, now: Date = new Date()): Promise<OutboxCreation> {
    if (operation.idempotencyKey === null) {
      // Every send and revoke without a key: one insert, through `pg` (see HotSql).
      const id = uuidV7(now.getTime());
      const at = utcTimestamp(now);
      await this.sql.count(Prisma.sql`
        INSERT INTO outbox_operations (id, org_id, session_id, kind, idempotency_key, request_hash, request, deadline, created_at, updated_at)
        VALUES (${id}::uuid, ${orgId}::uuid, ${operation.sessionId}::uuid, ${operation.kind}::"OutboxKind", NULL, ${operation.requestHash}, ${JSON.stringify(operation.request)}::jsonb,
                ${utcTimestamp(operation.deadline)}::timestamp, ${at}::timestamp, ${at}::timestamp)`);
      return { created: true, operation: { id, sessionId: operation.sessionId } };
    }
    const key = operation.idempotencyKey;
    const existing = await this.db.outboxOperation.findUnique({ where: { orgId_idempotencyKey: { orgId, idempotencyKey: key } } });
    if (existing && now.getTime() - existing.createdAt.getTime() < IDEMPOTENCY_WINDOW_MS) return { created: false, operation: existing };
    if (existing) await this.db.outboxOperation.update({ where: { id: existing.id }, data: { idempotencyKey: null } });
    try {
      return { created: true, operation: await this.db.outboxOperation.create({ data: { orgId, ...operation } }) };
    } catch (error) {
      // Two requests with one key raced: the loser answers with the winner's operation.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        const winner = await this.db.outboxOperation.findUnique({ where: { orgId_idempotencyKey: { orgId, idempotencyKey: key } } });
        if (winner) return { created: false, operation: winner };
      }
      throw error;
    }
  }

  /** The operation this organization sent with `key` within the idempotency window. */
  async findByIdempotencyKey(orgId: string, key: string, now: Date = new Date()): Promise<OutboxOperation | null> {
    const found = await this.db.outboxOperation.findUnique({ where: { orgId_idempotencyKey: { orgId, idempotencyKey: key } } });
    return found && now.getTime() - found.createdAt.getTime() < IDEMPOTENCY_WINDOW_MS ? found : null;
  }

  /** The operation's status and outcome, or null when this organization has no such operation. */
  async outcomeOf(orgId: string, id: string): Promise<OperationOutcome | null> {
    const [row] = await this.sql.rows<OperationOutcome>(Prisma.sql`SELECT status::text AS status, result, error FROM outbox_operations WHERE org_id = ${orgId}::uuid AND id = ${id}::uuid`);
    return row ?? null;
  }

  get(orgId: string, id: string): Promise<OutboxOperation | null> {
    return this.db.outboxOperation.findUnique({ where: { orgId_id: { orgId, id } } });
  }

  /**
   * Records the outcome once, as the worker holding `fence` (the operation's session at that epoch): an
   * operation already finished keeps its first outcome, and a worker that lost the session records
   * nothing. `audit` is written in the same statement, only when the outcome is. True when this call
   * recorded it.
   */
  async finish(
    fence: SessionFence,
    id: string,
    outcome: { status: 'sent' | 'failed' | 'expired'; result?: Prisma.InputJsonValue; error?: Prisma.InputJsonValue; waMessageId?: string | null },
    now: Date = new Date(),
    audit?: AuditEntry,
  ): Promise<boolean> {
    const { orgId, sessionId } = fence;
    const at = utcTimestamp(now);
    const json = (value: Prisma.InputJsonValue | undefined): string | null => (value === undefined ? null : JSON.stringify(value));
    const [result] = await this.sql.rows<{ finished: boolean }>(Prisma.sql`
      WITH fence AS (${fenceRow(fence)}), finished AS (
        UPDATE outbox_operations SET status = ${outcome.status}::"OutboxStatus", result = ${json(outcome.result)}::jsonb, error = ${json(outcome.error)}::jsonb,
               wa_message_id = ${outcome.waMessageId ?? null}, completed_at = ${at}::timestamp, updated_at = ${at}::timestamp
         WHERE org_id = ${orgId}::uuid AND id = ${id}::uuid AND session_id = ${sessionId}::uuid AND status = 'pending' AND EXISTS (SELECT 1 FROM fence)
        RETURNING 1
      ), audited AS (${auditInsertAfter('finished', orgId, audit, now)})
      SELECT EXISTS (SELECT 1 FROM finished) AS finished`);
    return result?.finished === true;
  }
}
