import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbClient } from '../../prisma-client.js';
import { DomainEventsRepository } from '../domain-events.repository.js';
import { OrganizationProvisioningRepository } from './organization-provisioning.repository.js';
import { DeliveryAttemptsRepository } from './delivery-attempts.repository.js';
import { WebhookEndpointsRepository } from '../webhook-endpoints.repository.js';

describe('DeliveryAttemptsRepository (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const deliveries = new DeliveryAttemptsRepository(db);
  let orgId: string;
  let endpointId: string;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('attempts')).id;
    endpointId = (await new WebhookEndpointsRepository(db).create(orgId, { url: 'https://hooks.example.com/a', events: ['message.revoked'], sessionIds: [], description: null, secretCiphertext: 'v1:x' })).id;
  });
  afterAll(async () => db.$disconnect());

  const newDelivery = async (): Promise<string> => (await new DomainEventsRepository(db).createTestDelivery(orgId, endpointId, 'message.revoked', (eventId) => ({ eventId }))).deliveryId;
  const row = (id: string) => db.webhookDelivery.findUniqueOrThrow({ where: { id } });

  it('records a failed attempt with its retry time, then the success, times in UTC', async () => {
    const id = await newDelivery();
    const retryAt = new Date('2026-07-01T08:09:10.123Z');
    expect(await deliveries.recordAttempt(id, 0, { status: 'pending', nextAttemptAt: retryAt, lastStatusCode: 503, lastLatencyMs: 12, lastError: 'answered 503' })).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: retryAt, lastStatusCode: 503, lastLatencyMs: 12, lastError: 'answered 503', deliveredAt: null });
    const deliveredAt = new Date('2026-07-01T08:10:00.000Z');
    const before = (await row(id)).updatedAt;
    expect(await deliveries.recordAttempt(id, 1, { status: 'delivered', nextAttemptAt: null, lastStatusCode: 200, lastLatencyMs: 3, lastError: null, deliveredAt })).toBe(true);
    const delivered = await row(id);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 2, nextAttemptAt: null, lastStatusCode: 200, lastError: null, deliveredAt });
    expect(delivered.updatedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(Math.abs(delivered.updatedAt.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('records nothing for an attempt that was recorded already, or for a finished delivery', async () => {
    const id = await newDelivery();
    expect(await deliveries.recordAttempt(id, 0, { status: 'delivered', nextAttemptAt: null, lastStatusCode: 200, lastLatencyMs: 1, lastError: null, deliveredAt: new Date() })).toBe(true);
    expect(await deliveries.recordAttempt(id, 0, { status: 'failed', nextAttemptAt: null, lastStatusCode: 500, lastLatencyMs: 1, lastError: 'late duplicate' })).toBe(false);
    expect(await deliveries.recordAttempt(id, 1, { status: 'failed', nextAttemptAt: null, lastStatusCode: 500, lastLatencyMs: 1, lastError: 'after the end' })).toBe(false);
    expect(await row(id)).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200 });
  });

  it('records many successes in one statement, each only if its row still expects that attempt', async () => {
    const [fresh, retried, finished] = [await newDelivery(), await newDelivery(), await newDelivery()];
    await deliveries.recordAttempt(retried, 0, { status: 'pending', nextAttemptAt: new Date(), lastStatusCode: 500, lastLatencyMs: 5, lastError: 'answered 500' });
    await deliveries.recordAttempt(finished, 0, { status: 'failed', nextAttemptAt: null, lastStatusCode: 400, lastLatencyMs: 5, lastError: 'refused' });
    const at = new Date('2026-08-01T01:02:03.456Z');
    const recorded = await deliveries.recordDelivered([
      { deliveryId: fresh, attempt: 0, statusCode: 200, latencyMs: 7, deliveredAt: at },
      { deliveryId: retried, attempt: 0, statusCode: 200, latencyMs: 7, deliveredAt: at },
      { deliveryId: retried, attempt: 1, statusCode: 204, latencyMs: 9, deliveredAt: at },
      { deliveryId: finished, attempt: 1, statusCode: 200, latencyMs: 7, deliveredAt: at },
    ]);
    expect(recorded).toEqual([true, false, true, false]);
    expect(await row(fresh)).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, lastLatencyMs: 7, lastError: null, nextAttemptAt: null, deliveredAt: at });
    expect(await row(retried)).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 204, lastError: null, deliveredAt: at });
    expect(await row(finished)).toMatchObject({ status: 'failed', attempts: 1, deliveredAt: null });
    expect(await deliveries.recordDelivered([])).toEqual([]);
  });

  it('looks deliveries up with their endpoint and event in one statement; unknown and malformed ids are left out', async () => {
    const id = await newDelivery();
    const failingSince = new Date('2026-05-05T05:05:05.555Z');
    await db.webhookEndpoint.update({ where: { id: endpointId }, data: { failingSince, previousSecretCiphertext: 'v1:old', previousSecretExpiresAt: new Date('2026-05-06T00:00:00.000Z') } });
    const found = await deliveries.findForAttempts([id, '00000000-0000-7000-8000-000000000000', 'not-a-uuid']);
    expect([...found.keys()]).toEqual([id]);
    const delivery = found.get(id);
    const stored = await row(id);
    expect(delivery).toEqual({
      id,
      orgId,
      endpointId,
      eventId: stored.eventId,
      status: 'pending',
      attempts: 0,
      endpoint: {
        url: 'https://hooks.example.com/a',
        enabled: true,
        disabledReason: null,
        failingSince,
        secretCiphertext: 'v1:x',
        previousSecretCiphertext: 'v1:old',
        previousSecretExpiresAt: new Date('2026-05-06T00:00:00.000Z'),
      },
      event: { id: stored.eventId, type: 'message.revoked', payload: { eventId: stored.eventId } },
    });
    expect(await deliveries.findForAttempts([])).toEqual(new Map());
  });
});
