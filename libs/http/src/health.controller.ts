import { Controller, Get, HttpCode, Inject } from '@nestjs/common';
import { GatewayError } from '@wagw/contracts';
import { DB_CLIENT, hotSql, type DbClient } from '@wagw/db';
import { REDIS, type RedisConnection } from '@wagw/queue';
import { Public } from './public.decorator.js';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/**
 * Served by every app. Its OpenAPI description lives with the gateway's document
 * (`apps/api-gateway/src/openapi/health-docs.ts`): the worker and dispatcher never load @nestjs/swagger.
 */
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(DB_CLIENT) private readonly db: DbClient,
    @Inject(REDIS) private readonly redis: RedisConnection,
  ) {}

  /** Liveness: the process answers. Never checks dependencies, so a database outage restarts nothing. */
  @Get('healthz')
  @HttpCode(200)
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: Postgres and Redis both answer; otherwise 503 so the load balancer routes elsewhere.
   * Postgres is asked through `pg`: Prisma's client would load its query compiler (about 23 MiB
   * resident) into a worker or dispatcher that otherwise never needs it.
   */
  @Get('readyz')
  async readiness(): Promise<{ status: 'ready'; checks: Record<string, 'ok'> }> {
    const results = await Promise.allSettled([
      withTimeout(hotSql(this.db).ping(), 'postgres'),
      withTimeout(this.redis.ping(), 'redis'),
    ]);
    const [postgres, redis] = results;
    const failures: Record<string, string> = {};
    if (postgres?.status === 'rejected') failures['postgres'] = String(postgres.reason instanceof Error ? postgres.reason.message : postgres.reason);
    if (redis?.status === 'rejected') failures['redis'] = String(redis.reason instanceof Error ? redis.reason.message : redis.reason);
    if (Object.keys(failures).length > 0) throw new GatewayError('session_unavailable', 'not ready', { checks: failures });
    return { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } };
  }
}
