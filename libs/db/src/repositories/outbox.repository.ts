import type { DbClient } from '../prisma-client.js';
import { Prisma, type OutboxOperation } from '../generated/client.js';
import { auditRow, type AuditEntry } from './audit-log.repository.js';

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

export type OutboxCreation = { created: true; operation: OutboxOperation } | { created: false; operation: OutboxOperation };

export class OutboxRepository {
  constructor(private readonly db: DbClient) {}

  /**
   * Writes the operation, or, when the organization already used this idempotency key within the
   * window, returns that operation instead (the caller compares the request hash).
   */
  async create(orgId: string, operation: NewOutboxOperation, now: Date = new Date()): Promise<OutboxCreation> {
    if (operation.idempotencyKey !== null) {
      const existing = await this.db.outboxOperation.findUnique({ where: { orgId_idempotencyKey: { orgId, idempotencyKey: operation.idempotencyKey } } });
      if (existing && now.getTime() - existing.createdAt.getTime() < IDEMPOTENCY_WINDOW_MS) return { created: false, operation: existing };
      if (existing) await this.db.outboxOperation.update({ where: { id: existing.id }, data: { idempotencyKey: null } });
    }
    try {
      return { created: true, operation: await this.db.outboxOperation.create({ data: { orgId, ...operation } }) };
    } catch (error) {
      // Two requests with one key raced: the loser answers with the winner's operation.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002' && operation.idempotencyKey !== null) {
        const winner = await this.db.outboxOperation.findUnique({ where: { orgId_idempotencyKey: { orgId, idempotencyKey: operation.idempotencyKey } } });
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

  get(orgId: string, id: string): Promise<OutboxOperation | null> {
    return this.db.outboxOperation.findUnique({ where: { orgId_id: { orgId, id } } });
  }

  /**
   * Records the outcome once: an operation already finished keeps its first outcome. True when this
   * call recorded it.
   */
  async finish(
    orgId: string,
    id: string,
    outcome: { status: 'sent' | 'failed' | 'expired'; result?: Prisma.InputJsonValue; error?: Prisma.InputJsonValue; waMessageId?: string | null },
    now: Date = new Date(),
    /** Written in the same transaction, only when this call records the outcome. */
    audit?: AuditEntry,
  ): Promise<boolean> {
    if (audit !== undefined) {
      return this.db.$transaction(async (tx) => {
        const { count } = await tx.outboxOperation.updateMany({ where: { orgId, id, status: 'pending' }, data: this.outcomeData(outcome, now) });
        if (count === 1) await tx.auditLogEntry.create({ data: auditRow(orgId, audit) });
        return count === 1;
      });
    }
    const { count } = await this.db.outboxOperation.updateMany({
      where: { orgId, id, status: 'pending' },
      data: this.outcomeData(outcome, now),
    });
    return count === 1;
  }

  private outcomeData(outcome: { status: 'sent' | 'failed' | 'expired'; result?: Prisma.InputJsonValue; error?: Prisma.InputJsonValue; waMessageId?: string | null }, now: Date): Prisma.OutboxOperationUpdateManyMutationInput {
    return { status: outcome.status, result: outcome.result ?? Prisma.DbNull, error: outcome.error ?? Prisma.DbNull, waMessageId: outcome.waMessageId ?? null, completedAt: now };
  }
}
