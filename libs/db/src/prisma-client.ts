import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.js';

export type DbClient = InstanceType<typeof PrismaClient>;

export interface DbClientOptions {
  databaseUrl: string;
  poolSize?: number;
}

export function createDbClient({ databaseUrl, poolSize = 10 }: DbClientOptions): DbClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  // Prisma's defaults (2 s to get a connection, 5 s in all) fail transactions on a busy host; a state
  // change and its domain event must not be lost to a momentary queue for connections.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 20_000 } });
}
