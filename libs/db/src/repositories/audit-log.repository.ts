import type { Principal } from '@wagw/contracts';
import type { DbClient } from '../prisma-client.js';
import { Prisma, type AuditLogEntry } from '../generated/client.js';
import { uuidV7 } from './ids.js';
import { decodeCursor, toPage, type PageRequest } from './pagination.js';
import { utcTimestamp } from './sql-time.js';

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

/**
 * The insert of `entry` (none when undefined) for a CTE of a larger statement, written only when the CTE
 * named `gate` returned a row: an audit entry committed with the change it records, in one statement.
 */
export function auditInsertAfter(gate: 'finished', orgId: string, entry: AuditEntry | undefined, now: Date): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO audit_log (id, org_id, actor_kind, actor_id, action, target_type, target_id, details, created_at)
    SELECT ${uuidV7(now.getTime())}::uuid, ${orgId}::uuid, ${entry?.actorKind ?? null}, ${entry?.actorId ?? null}, ${entry?.action ?? null}, ${entry?.targetType ?? null},
           ${entry?.targetId ?? null}, ${JSON.stringify(entry?.details ?? {})}::jsonb, ${utcTimestamp(now)}::timestamp
     WHERE ${entry !== undefined} AND EXISTS (SELECT 1 FROM ${Prisma.raw(gate)})
    RETURNING 1`;
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
