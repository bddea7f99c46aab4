import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '@wagw/queue';
import { Waiters } from './waiters.js';

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
  /** Attempts of this process waiting for a slot, per endpoint, first come first served. */
  private readonly waiters = new Map<string, Waiters>();

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

  /**
   * A slot, waiting up to `waitMs` for one: a slot this process frees is offered to its waiters at
   * once (a slot freed by another dispatcher is seen at the next wake-up or not at all). Null when
   * none came free in time.
   */
  async acquireWithin(endpointId: string, waitMs: number): Promise<string | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const token = await this.acquire(endpointId);
      if (token !== null) return token;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const waiters = this.waiters.get(endpointId) ?? new Waiters();
      this.waiters.set(endpointId, waiters);
      await waiters.wait(left);
      if (waiters.size === 0 && this.waiters.get(endpointId) === waiters) this.waiters.delete(endpointId);
    }
  }

  async release(endpointId: string, token: string): Promise<void> {
    await this.redis.zrem(this.key(endpointId), token);
    const waiters = this.waiters.get(endpointId);
    waiters?.wakeOne();
    if (waiters?.size === 0) this.waiters.delete(endpointId);
  }
}
