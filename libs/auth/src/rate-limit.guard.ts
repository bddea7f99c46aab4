import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { GatewayError, type Principal } from '@wagw/contracts';
import { REDIS, type RedisConnection } from '@wagw/queue';
import { AUTH_OPTIONS, type AuthOptions } from './auth-options.js';

/** Counts in both windows in one round trip; a window's counter expires with the window. */
const COUNT = `
local counts = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  counts[i] = count
end
return counts`;

/**
 * Fixed-window limits per API key (or login user) and per organization, counted in Redis so that they
 * hold across every gateway replica. Runs after authentication; public routes are not counted.
 */
/** How long a request waits for its rate-limit count before it goes on uncounted (fails open). */
const RATE_LIMIT_CHECK_TIMEOUT_MS = 250;

/** `operation`, or a rejection once `ms` pass without its answer (the timer is cleared when it answers). */
function within<T>(operation: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([operation, late]).finally(() => clearTimeout(timer));
}

@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly log = new Logger('RateLimitGuard');

  constructor(
    @Inject(AUTH_OPTIONS) private readonly options: AuthOptions,
    @Inject(REDIS) private readonly redis: RedisConnection,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limits = this.options.rateLimits;
    const request = context.switchToHttp().getRequest<{ user?: Principal; method: string }>();
    const principal = request.user;
    if (!limits || !principal) return true;
    const kind = request.method === 'GET' || request.method === 'HEAD' ? 'reads' : 'writes';
    const window = Math.floor(Date.now() / limits.windowMs);
    const checks = [
      { scope: 'key', limit: limits.perKey[kind], key: `wagw:rl:key:${principal.orgId}:${principal.subject}:${kind}:${window}` },
      { scope: 'organization', limit: limits.perOrg[kind], key: `wagw:rl:org:${principal.orgId}:${kind}:${window}` },
    ].filter((check) => check.limit > 0);
    if (checks.length === 0) return true;
    let counts: number[];
    try {
      // Counting must never be what holds a request: a Redis that does not answer at once is skipped.
      const counted = this.redis.eval(COUNT, checks.length, ...checks.map((check) => check.key), limits.windowMs) as Promise<number[]>;
      counts = await within(counted, RATE_LIMIT_CHECK_TIMEOUT_MS);
    } catch (error) {
      // Without Redis no command can reach a worker anyway; reads still deserve an answer.
      this.log.warn(`rate limit not checked: ${(error as Error).message}`);
      return true;
    }
    const exceeded = checks.find((check, index) => (counts[index] ?? 0) > check.limit);
    if (exceeded) {
      const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * limits.windowMs - Date.now()) / 1000));
      throw new GatewayError('rate_limited', `too many ${kind === 'reads' ? 'read' : 'write'} requests for this ${exceeded.scope === 'key' ? 'API key or user' : 'organization'}; retry after ${retryAfterSeconds} s`, {
        scope: exceeded.scope,
        limit: exceeded.limit,
        windowSeconds: limits.windowMs / 1000,
        retryAfterSeconds,
      });
    }
    return true;
  }
}
