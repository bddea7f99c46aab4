import type { Principal } from '@wagw/contracts';
import type { DbClient } from '../prisma-client.js';
import type { AuditLogEntry, Prisma } from '../generated/client.js';
import { decodeCursor, toPage, type PageRequest } from './pagination.js';

export interface AuditEntry {
  actorKind: string;
  actorId: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  details?: Prisma.InputJsonObject;
}

/** Who did it, as the audit log names them: a login user by subject, an API key by id. */
export function auditActor(principal: Principal): Pick<AuditEntry, 'actorKind' | 'actorId'> {
  return { actorKind: principal.kind, actorId: principal.subject };
}

/** The row for `entry`, for repositories that write an audit entry inside their own transaction. */
export function auditRow(orgId: string, entry: AuditEntry): Prisma.AuditLogEntryUncheckedCreateInput {
  return {
    orgId,
    actorKind: entry.actorKind,
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    details: entry.details ?? {},
  };
}

export class AuditLogRepository {
  constructor(private readonly db: DbClient) {}

  async record(orgId: string, entry: AuditEntry): Promise<void> {
    await this.db.auditLogEntry.create({ data: auditRow(orgId, entry) });
  }

  /** Newest first. Ids are UUIDv7, so "older than the cursor" is "id below the cursor". */
  async list(orgId: string, page: PageRequest): Promise<{ rows: AuditLogEntry[]; nextCursor: string | null }> {
    const beforeId = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = await this.db.auditLogEntry.findMany({
      where: { orgId, ...(beforeId === undefined ? {} : { id: { lt: beforeId } }) },
      orderBy: { id: 'desc' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit);
  }
}
