import type { DbClient } from '../prisma-client.js';
import type { Prisma } from '../generated/client.js';

export interface AuditEntry {
  actorKind: string;
  actorId: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  details?: Prisma.InputJsonObject;
}

export class AuditLogRepository {
  constructor(private readonly db: DbClient) {}

  async record(orgId: string, entry: AuditEntry): Promise<void> {
    await this.db.auditLogEntry.create({
      data: {
        orgId,
        actorKind: entry.actorKind,
        actorId: entry.actorId,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId ?? null,
        details: entry.details ?? {},
      },
    });
  }
}
