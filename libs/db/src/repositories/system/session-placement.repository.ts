import type { DbClient } from '../../prisma-client.js';

/** System scope (see ../../system.ts): the session workers' view of the sessions they place. */
export class SessionPlacementRepository {
  constructor(private readonly db: DbClient) {}

  /** Every session that should be running, of every organization: what the workers place. */
  listShouldRun(): Promise<Array<{ id: string; orgId: string }>> {
    return this.db.whatsAppSession.findMany({ where: { shouldRun: true }, select: { id: true, orgId: true }, orderBy: { id: 'asc' } });
  }
}
