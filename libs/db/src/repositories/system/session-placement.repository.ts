import { Prisma } from '../../generated/client.js';
import { hotSql, type DbClient, type HotSql } from '../../prisma-client.js';

/** System scope (see ../../system.ts): the session workers' view of the sessions they place. */
export class SessionPlacementRepository {
  private readonly sql: HotSql;

  constructor(db: DbClient) {
    // Through pg: every worker runs it every second, traffic or not.
    this.sql = hotSql(db);
  }

  /** Every session that should be running, of every organization: what the workers place. */
  listShouldRun(): Promise<Array<{ id: string; orgId: string }>> {
    return this.sql.rows<{ id: string; orgId: string }>(Prisma.sql`SELECT id::text AS id, org_id::text AS "orgId" FROM whatsapp_sessions WHERE should_run ORDER BY id`);
  }
}
