import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '@wagw/queue';

/**
 * At most `limit` attempts in flight per endpoint across every dispatcher process, so one slow or
 * hanging endpoint holds a few of the dispatch slots and never all of them. A slot is a member of a
 * sorted set scored by when it was taken; slots older than `staleAfterMs` (a dispatcher that died
 * mid-attempt) are dropped, so a crash cannot leak an endpoint's capacity for good.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

export class EndpointSlots {
  constructor(
    private readonly redis: RedisConnection,
    private readonly limit: number,
    private readonly staleAfterMs: number,
  ) {}

  private key(endpointId: string): string {
    return `wagw:webhook-inflight:${endpointId}`;
  }

  /** A slot token when one is free, or null when the endpoint already has `limit` attempts in flight. */
  async acquire(endpointId: string): Promise<string | null> {
    const token = randomUUID();
    const taken = await this.redis.eval(ACQUIRE, 1, this.key(endpointId), Date.now(), this.limit, this.staleAfterMs, token);
    return taken === 1 ? token : null;
  }

  async release(endpointId: string, token: string): Promise<void> {
    await this.redis.zrem(this.key(endpointId), token);
  }
}
