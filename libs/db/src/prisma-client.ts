import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.js';

export type DbClient = InstanceType<typeof PrismaClient>;

export interface DbClientOptions {
  databaseUrl: string;
  poolSize?: number;
  /**
   * Plan every prepared statement once per connection, whatever its parameters. For processes whose
   * statements are all point lookups and single-row writes by key (the session worker): Postgres
   * otherwise keeps re-planning those with array parameters (the fenced key write), as a custom plan
   * looks cheaper to it than the generic one for each call.
   */
  genericPlans?: boolean;
}

/** Distinct statements a process prepares, at most; later ones run unprepared (an `IN` list of every length is its own text). */
const PREPARED_STATEMENTS_MAX = 500;

/**
 * Names the statements Prisma sends, so that each connection has Postgres parse and plan a statement
 * once and runs it by name after (planning cost more than executing on the revoke path). Names are
 * per process, like its pool; an empty name runs a statement unprepared.
 */
export function preparedStatementNames(limit = PREPARED_STATEMENTS_MAX): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    const known = names.get(sql);
    if (known !== undefined) return known;
    if (names.size >= limit) return '';
    const name = `wagw_${names.size + 1}`;
    names.set(sql, name);
    return name;
  };
}

export function createDbClient({ databaseUrl, poolSize = 10, genericPlans = false }: DbClientOptions): DbClient {
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: poolSize, ...(genericPlans ? { options: '-c plan_cache_mode=force_generic_plan' } : {}) },
    { statementNameGenerator: preparedStatementNames() },
  );
  // Prisma's defaults (2 s to get a connection, 5 s in all) fail transactions on a busy host; a state
  // change and its domain event must not be lost to a momentary queue for connections.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 20_000 } });
}
