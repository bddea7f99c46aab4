import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.js';

export type DbClient = InstanceType<typeof PrismaClient>;

export interface DbClientOptions {
  databaseUrl: string;
  poolSize?: number;
}

export function createDbClient({ databaseUrl, poolSize = 10 }: DbClientOptions): DbClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  return new PrismaClient({ adapter });
}
