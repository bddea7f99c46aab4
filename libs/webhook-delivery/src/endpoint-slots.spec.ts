import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { closeRedisConnection, createRedisConnection } from '@wagw/queue';
import { EndpointSlots } from './endpoint-slots.js';

describe('EndpointSlots (real Redis)', () => {
  const redis = createRedisConnection(inject('redisUrl'), 'slots-test');
  afterAll(async () => closeRedisConnection(redis));

  it('grants an endpoint its limit of slots and refuses the next', async () => {
    const slots = new EndpointSlots(redis, 2, 60_000);
    const endpointId = randomUUID();
    const [first, second, third] = [await slots.acquire(endpointId), await slots.acquire(endpointId), await slots.acquire(endpointId)];
    expect([first, second].every((token) => typeof token === 'string')).toBe(true);
    expect(third).toBeNull();
    expect(await slots.acquire(randomUUID())).not.toBeNull();
  });

  it('hands a slot freed in this process to an attempt waiting for it, at once', async () => {
    const slots = new EndpointSlots(redis, 1, 60_000);
    const endpointId = randomUUID();
    const held = await slots.acquire(endpointId);
    const started = Date.now();
    const waiting = slots.acquireWithin(endpointId, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await slots.release(endpointId, held ?? '');
    expect(await waiting).not.toBeNull();
    // Woken by the release, not by its 5 s deadline.
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('gives up after its wait when no slot comes free', async () => {
    const slots = new EndpointSlots(redis, 1, 60_000);
    const endpointId = randomUUID();
    await slots.acquire(endpointId);
    const started = Date.now();
    expect(await slots.acquireWithin(endpointId, 150)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
