import { decodeLease, encodeLease, redisKeys, type Lease } from '@wagw/contracts';
import type { RedisConnection } from '@wagw/queue';

/** Renew only our own lease of that epoch. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/**
 * Take the lease when nobody holds it, with the next epoch: one round trip, and all or nothing (a reply
 * lost to a timeout leaves at most a lease nobody runs, which lapses after its TTL).
 */
const ACQUIRE = `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
return epoch`;
/** Release only our own lease of that epoch. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LiveWorker {
  workerId: string;
  load: number;
}

/**
 * Worker heartbeats and per-session leases in Redis. A lease is `{workerId, epoch}` with a TTL; the
 * epoch comes from an INCR that only grows, so a worker that lost a lease can be told apart from the one
 * that holds it now.
 */
export class LeaseManager {
  constructor(
    private readonly redis: RedisConnection,
    readonly workerId: string,
    readonly leaseTtlMs = 15_000,
  ) {}

  async heartbeat(load: number, now: number = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .set(redisKeys.worker(this.workerId), JSON.stringify({ load, at: now }), 'PX', this.leaseTtlMs)
      .zadd(redisKeys.workers, String(now), this.workerId)
      .exec();
  }

  async unregister(): Promise<void> {
    await this.redis.multi().del(redisKeys.worker(this.workerId)).zrem(redisKeys.workers, this.workerId).exec();
  }

  /** Workers whose heartbeat has not expired, with the number of sessions each runs. */
  async liveWorkers(): Promise<LiveWorker[]> {
    const ids = await this.redis.zrange(redisKeys.workers, '0', '-1');
    if (ids.length === 0) return [];
    const beats = await this.redis.mget(ids.map((id) => redisKeys.worker(id)));
    const live: LiveWorker[] = [];
    const dead: string[] = [];
    ids.forEach((workerId, index) => {
      const beat = beats[index];
      if (beat) live.push({ workerId, load: (JSON.parse(beat) as { load: number }).load });
      else dead.push(workerId);
    });
    if (dead.length > 0) await this.redis.zrem(redisKeys.workers, ...dead);
    return live;
  }

  async ownerOf(sessionId: string): Promise<Lease | null> {
    return decodeLease(await this.redis.get(redisKeys.lease(sessionId)));
  }

  /** Takes the lease when nobody holds it; null when someone does. */
  async acquire(sessionId: string): Promise<Lease | null> {
    const epoch = Number(await this.redis.eval(ACQUIRE, 2, redisKeys.lease(sessionId), redisKeys.epoch(sessionId), this.workerId, String(this.leaseTtlMs)));
    return epoch > 0 ? { workerId: this.workerId, epoch } : null;
  }

  async renew(sessionId: string, lease: Lease): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, redisKeys.lease(sessionId), encodeLease(lease), String(this.leaseTtlMs))) === 1;
  }

  async release(sessionId: string, lease: Lease): Promise<void> {
    await this.redis.eval(RELEASE, 1, redisKeys.lease(sessionId), encodeLease(lease));
  }
}
