import type { DbClient } from '../prisma-client.js';
import type { DomainEvent } from '../generated/client.js';

export class DomainEventsRepository {
  constructor(private readonly db: DbClient) {}

  list(orgId: string, filter: { sessionId?: string; type?: string } = {}): Promise<DomainEvent[]> {
    return this.db.domainEvent.findMany({ where: { orgId, ...filter }, orderBy: { createdAt: 'asc' } });
  }
}
