import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from './generated/client.js';

export type DbClient = InstanceType<typeof PrismaClient>;

export interface DbClientOptions {
  databaseUrl: string;
  poolSize?: number;
  /** How long a connection may sit idle in the pool before it is closed; 0 keeps it open. Defaults to POOL_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /**
   * Plan every prepared statement once per connection, whatever its parameters. For processes whose
   * statements are all point lookups and single-row writes by key (the session worker): Postgres
   * otherwise keeps re-planning those with array parameters (the fenced key write), as a custom plan
   * looks cheaper to it than the generic one for each call.
   */
  genericPlans?: boolean;
}

/**
 * Idle connections are kept this long (pg's own default is 10 s). A new connection costs Postgres
 * about 30 ms of CPU (a forked backend, SCRAM authentication, its catalog caches, and every prepared
 * statement parsed and planned again), against 0.02–0.1 ms for a statement on a warm one. With 10 s,
 * a pool under uneven load closed and reopened connections all the time: 15 new backends in 9 s of
 * revokes at c=16, about 0.5 ms of Postgres CPU per revoke. The pool's size still bounds how many
 * connections a process holds.
 */
export const POOL_IDLE_TIMEOUT_MS = 300_000;

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

/**
 * The statements of the hot paths (every send and revoke) and of the loops that run at rest (placement,
 * the dispatcher's periodic read and relay), sent through `pg` on the pool Prisma uses,
 * prepared by the same names. Measured on this codebase's statements: Prisma's client spends about
 * 0.35–0.45 ms of CPU on a statement (raw or not) that costs `pg` 0.1–0.2 ms. Statements are built with
 * `Prisma.sql`, as raw ones are; rows come back as `pg` parses them (jsonb parsed, int8 as text,
 * `timestamp` as a local Date: select what a caller needs in a form it can trust).
 */
export class HotSql {
  constructor(
    private readonly pool: pg.Pool | pg.PoolClient,
    private readonly nameOf: (query: { sql: string }) => string,
  ) {}

  /**
   * Runs `work` in one transaction on one connection of the pool (its statements through the HotSql it
   * is given), committed when `work` resolves and rolled back when it throws. A connection whose
   * rollback failed is dropped from the pool rather than handed out again mid-transaction.
   */
  async transaction<Result>(work: (sql: HotSql) => Promise<Result>): Promise<Result> {
    if (!(this.pool instanceof pg.Pool)) throw new Error('a transaction cannot be opened inside another');
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(new HotSql(client, this.nameOf));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      // true destroys the connection instead of returning it to the pool.
      client.release(broken);
    }
  }

  /** One round trip that touches no table: whether a connection of the pool answers. */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async rows<Row extends object>(statement: Prisma.Sql): Promise<Row[]> {
    return (await this.query<Row>(statement)).rows;
  }

  /** Rows written (or matched) by an INSERT, UPDATE or DELETE. */
  async count(statement: Prisma.Sql): Promise<number> {
    return (await this.query(statement)).rowCount ?? 0;
  }

  private query<Row extends object>(statement: Prisma.Sql): Promise<pg.QueryResult<Row>> {
    const name = this.nameOf({ sql: statement.text });
    return this.pool.query<Row>(name === '' ? { text: statement.text, values: statement.values } : { name, text: statement.text, values: statement.values });
  }
}

/** Each client's HotSql: Prisma's client cannot carry it (an extension would change every client type). */
const hotSqlOfClient = new WeakMap<DbClient, HotSql>();

/** The HotSql on `db`'s pool; `db` must come from createDbClient. */
export function hotSql(db: DbClient): HotSql {
  const found = hotSqlOfClient.get(db);
  if (!found) throw new Error('this Prisma client was not made by createDbClient');
  return found;
}

export function createDbClient({ databaseUrl, poolSize = 10, idleTimeoutMs = POOL_IDLE_TIMEOUT_MS, genericPlans = false }: DbClientOptions): DbClient {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, idleTimeoutMillis: idleTimeoutMs, ...(genericPlans ? { options: '-c plan_cache_mode=force_generic_plan' } : {}) });
  const nameOf = preparedStatementNames();
  const adapter = new PrismaPg(pool, { statementNameGenerator: nameOf, disposeExternalPool: true });
  // Prisma's defaults (2 s to get a connection, 5 s in all) fail transactions on a busy host; a state
  // change and its domain event must not be lost to a momentary queue for connections.
  const client = new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 20_000 } });
  hotSqlOfClient.set(client, new HotSql(pool, nameOf));
  return client;
}
