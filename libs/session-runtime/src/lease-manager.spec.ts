import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedisConnection } from '@wagw/queue';
import { LeaseManager } from './lease-manager.js';

describe('LeaseManager (real Redis)', () => {
  const redis = createRedisConnection(inject('redisUrl'), 'lease-test');
  afterAll(() => redis.disconnect());

  it('gives a session to one worker at a time, with an epoch that only grows', async () => {
    const session = randomUUID();
    const a = new LeaseManager(redis, `a-${randomUUID()}`, 3_000);
    const b = new LeaseManager(redis, `b-${randomUUID()}`, 3_000);
    const first = await a.acquire(session);
    expect(first).toEqual({ workerId: a.workerId, epoch: expect.any(Number) });
    expect(await b.acquire(session)).toBeNull();
    expect(await a.ownerOf(session)).toEqual(first);

    await a.release(session, first!);
    const second = await b.acquire(session);
    expect(second?.workerId).toBe(b.workerId);
    expect(second!.epoch).toBeGreaterThan(first!.epoch);
  });

  it('renews and releases only the lease one holds (a stale epoch changes nothing)', async () => {
    const session = randomUUID();
    const a = new LeaseManager(redis, `a-${randomUUID()}`, 3_000);
    const lease = await a.acquire(session);
    expect(await a.renew(session, lease!)).toBe(true);
    const stale = { ...lease!, epoch: lease!.epoch - 1 };
    expect(await a.renew(session, stale)).toBe(false);
    await a.release(session, stale);
    expect(await a.ownerOf(session)).toEqual(lease);
  });

  it('lets a lease lapse when its holder stops renewing, so another worker can take over', async () => {
    const session = randomUUID();
    const dying = new LeaseManager(redis, `dying-${randomUUID()}`, 3_000);
    const survivor = new LeaseManager(redis, `survivor-${randomUUID()}`, 3_000);
    const old = await dying.acquire(session);
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    const taken = await survivor.acquire(session);
    expect(taken?.workerId).toBe(survivor.workerId);
    expect(await dying.renew(session, old!)).toBe(false);
  });

  it('lists live workers with their load and forgets dead ones', async () => {
    const live = new LeaseManager(redis, `live-${randomUUID()}`, 3_000);
    const gone = new LeaseManager(redis, `gone-${randomUUID()}`, 3_000);
    await live.heartbeat(3);
    await gone.heartbeat(1);
    await gone.unregister();
    const workers = await live.liveWorkers();
    expect(workers).toContainEqual({ workerId: live.workerId, load: 3 });
    expect(workers.some((worker) => worker.workerId === gone.workerId)).toBe(false);
  });
});
