import { Controller, Get, HttpCode, Inject } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags, type SchemaObject } from '@nestjs/swagger';
import { GatewayError } from '@wagw/contracts';
import { DB_CLIENT, type DbClient } from '@wagw/db';
import { REDIS, type RedisConnection } from '@wagw/queue';
import { Public } from './public.decorator.js';

const CHECK_TIMEOUT_MS = 2_000;
const ERROR_ENVELOPE_ID = 'ErrorEnvelope';

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

const okSchema: SchemaObject = { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] };
const readySchema: SchemaObject = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ready'] }, checks: { type: 'object', additionalProperties: { type: 'string', enum: ['ok'] } } },
  required: ['status', 'checks'],
};

@Public()
@ApiTags('Health')
@Controller()
export class HealthController {
  constructor(
    @Inject(DB_CLIENT) private readonly db: DbClient,
    @Inject(REDIS) private readonly redis: RedisConnection,
  ) {}

  /** Liveness: the process answers. Never checks dependencies, so a database outage restarts nothing. */
  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness', description: 'The process answers. No authentication.' })
  @ApiResponse({ status: 200, description: 'Alive.', content: { 'application/json': { schema: okSchema } } })
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Postgres and Redis both answer; otherwise 503 so the load balancer routes elsewhere. */
  @Get('readyz')
  @ApiOperation({ summary: 'Readiness', description: 'Postgres and Redis both answer. No authentication.' })
  @ApiResponse({ status: 200, description: 'Ready.', content: { 'application/json': { schema: readySchema } } })
  @ApiResponse({ status: 503, description: '`session_unavailable`: a dependency does not answer; `details.checks` says which.', content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_ENVELOPE_ID}` } } } })
  async readiness(): Promise<{ status: 'ready'; checks: Record<string, 'ok'> }> {
    const results = await Promise.allSettled([
      withTimeout(this.db.$queryRawUnsafe('SELECT 1'), 'postgres'),
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
