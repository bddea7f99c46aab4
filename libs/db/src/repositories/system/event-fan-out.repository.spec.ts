import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbClient } from '../../prisma-client.js';
import { EventFanOutRepository } from './event-fan-out.repository.js';
import { OrganizationProvisioningRepository } from './organization-provisioning.repository.js';
import { SessionsRepository } from '../sessions.repository.js';
import { WebhookEndpointsRepository } from '../webhook-endpoints.repository.js';

describe('EventFanOutRepository.fanOut (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 4 });
  const events = new EventFanOutRepository(db);
  const endpoints = new WebhookEndpointsRepository(db);
  let orgId: string;
  let sessionId: string;
  let otherSessionId: string;
  const wanted: Record<string, string> = {};

  const endpoint = async (org: string, name: string, types: string[], sessionIds: string[]): Promise<string> =>
    (await endpoints.create(org, { url: `https://hooks.example.com/${name}`, events: types, sessionIds, description: name, secretCiphertext: 'v1:x' })).id;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('fan-out')).id;
    const otherOrg = (await new OrganizationProvisioningRepository(db).create('fan-out other')).id;
    sessionId = (await new SessionsRepository(db).create(orgId, { name: 'a', createdBy: 'u' })).id;
    otherSessionId = (await new SessionsRepository(db).create(orgId, { name: 'b', createdBy: 'u' })).id;
    wanted['everySession'] = await endpoint(orgId, 'every-session', ['message.revoked', 'message.received'], []);
    wanted['thisSession'] = await endpoint(orgId, 'this-session', ['message.revoked'], [sessionId]);
    wanted['otherSession'] = await endpoint(orgId, 'other-session', ['message.revoked'], [otherSessionId]);
    wanted['otherType'] = await endpoint(orgId, 'other-type', ['session.status'], []);
    wanted['disabled'] = await endpoint(orgId, 'disabled', ['message.revoked'], []);
    await endpoints.disable(orgId, wanted['disabled'] ?? '', 'test');
    wanted['otherOrg'] = await endpoint(otherOrg, 'other-org', ['message.revoked'], []);
  });
  afterAll(async () => db.$disconnect());

  const newEvent = async (type: string, session: string | null): Promise<string> => {
    const id = randomUUID();
    await db.domainEvent.create({ data: { id, orgId, sessionId: session, type, payload: { id } } });
    return id;
  };
  const deliveredTo = async (eventId: string): Promise<string[]> =>
    (await db.webhookDelivery.findMany({ where: { eventId }, select: { endpointId: true } })).map((row) => row.endpointId).sort();

  it('creates one pending delivery, due at the given time, per enabled endpoint of the organization that wants the type and the session', async () => {
    const eventId = await newEvent('message.revoked', sessionId);
    const now = new Date('2026-09-09T09:09:09.999Z');
    const firstAttemptAt = new Date('2026-09-09T09:09:40.999Z');
    const result = await events.fanOut(eventId, { now, firstAttemptAt });
    expect(result.fannedOut).toBe(true);
    expect(result.deliveryIds.sort()).toEqual((await db.webhookDelivery.findMany({ where: { eventId }, select: { id: true } })).map((row) => row.id).sort());
    expect(await deliveredTo(eventId)).toEqual([wanted['everySession'], wanted['thisSession']].sort());
    expect(await db.webhookDelivery.findMany({ where: { eventId } })).toEqual(expect.arrayContaining([expect.objectContaining({ status: 'pending', attempts: 0, nextAttemptAt: firstAttemptAt, createdAt: now })]));
    const event = await db.domainEvent.findUniqueOrThrow({ where: { id: eventId } });
    expect(event.publishedAt).toEqual(now);
    expect(result.createdAt).toEqual(event.createdAt);
  });

  it('sends an event without a session to every endpoint that wants its type, session-scoped ones included', async () => {
    const eventId = await newEvent('message.revoked', null);
    await events.fanOut(eventId);
    expect(await deliveredTo(eventId)).toEqual([wanted['everySession'], wanted['thisSession'], wanted['otherSession']].sort());
  });

  it('creates nothing for a type no endpoint wants, and still marks the event published', async () => {
    const eventId = await newEvent('webhook.test', sessionId);
    expect(await events.fanOut(eventId)).toMatchObject({ fannedOut: true, deliveryIds: [] });
    expect((await db.domainEvent.findUniqueOrThrow({ where: { id: eventId } })).publishedAt).not.toBeNull();
  });

  it('fans an event out once, also when dispatchers race on it', async () => {
    const eventId = await newEvent('message.received', sessionId);
    const results = await Promise.all([1, 2, 3].map(() => events.fanOut(eventId)));
    expect(results.filter((result) => result.fannedOut)).toHaveLength(1);
    expect(await deliveredTo(eventId)).toEqual([wanted['everySession']]);
    expect(await events.fanOut(eventId)).toMatchObject({ fannedOut: false, deliveryIds: [] });
  });

  it('knows nothing of an unknown event', async () => {
    expect(await events.fanOut(randomUUID())).toMatchObject({ fannedOut: false, deliveryIds: [] });
  });
});
