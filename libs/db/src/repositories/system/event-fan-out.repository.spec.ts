import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { applyMigrations } from '../../migrations/apply-migrations.js';
import { createDbClient, type DbClient } from '../../prisma-client.js';
import { EventFanOutRepository } from './event-fan-out.repository.js';
import { OrganizationProvisioningRepository } from './organization-provisioning.repository.js';
import { SessionsRepository } from '../sessions.repository.js';
import { WebhookEndpointsRepository } from '../webhook-endpoints.repository.js';

/** A database of its own (libs/testing has the same, but depends on this lib): the fan-out reads every organization's events. */
async function ownDatabase(): Promise<string> {
  const name = `fanout_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = inject('postgresAdminUrl').replace(/\/postgres$/, `/${name}`);
  await applyMigrations(url, join(import.meta.dirname, '..', '..', '..', '..', '..', 'prisma', 'migrations'));
  return url;
}

describe('EventFanOutRepository.fanOutNext (real Postgres)', () => {
  let db: DbClient;
  let events: EventFanOutRepository;
  let orgId: string;
  let sessionId: string;
  const wanted: Record<string, string> = {};

  beforeAll(async () => {
    db = createDbClient({ databaseUrl: await ownDatabase(), poolSize: 6 });
    events = new EventFanOutRepository(db);
    const endpoints = new WebhookEndpointsRepository(db);
    const endpoint = async (org: string, name: string, types: string[], sessionIds: string[]): Promise<string> =>
      (await endpoints.create(org, { url: `https://hooks.example.com/${name}`, events: types, sessionIds, description: name, secretCiphertext: 'v1:x' })).id;
    orgId = (await new OrganizationProvisioningRepository(db).create('fan-out')).id;
    const otherOrg = (await new OrganizationProvisioningRepository(db).create('fan-out other')).id;
    sessionId = (await new SessionsRepository(db).create(orgId, { name: 'a', createdBy: 'u' })).id;
    const otherSessionId = (await new SessionsRepository(db).create(orgId, { name: 'b', createdBy: 'u' })).id;
    wanted['everySession'] = await endpoint(orgId, 'every-session', ['message.revoked', 'message.received'], []);
    wanted['thisSession'] = await endpoint(orgId, 'this-session', ['message.revoked'], [sessionId]);
    wanted['otherSession'] = await endpoint(orgId, 'other-session', ['message.revoked'], [otherSessionId]);
    wanted['otherType'] = await endpoint(orgId, 'other-type', ['session.status'], []);
    wanted['disabled'] = await endpoint(orgId, 'disabled', ['message.revoked'], []);
    await endpoints.disable(orgId, wanted['disabled'] ?? '', 'test');
    wanted['otherOrg'] = await endpoint(otherOrg, 'other-org', ['message.revoked'], []);
  });
  // Each test starts with nothing left to fan out.
  beforeEach(async () => {
    while ((await events.fanOutNext(500)).events.length > 0) continue;
  });
  afterAll(async () => db.$disconnect());

  const newEvent = async (type: string, session: string | null, publishedAt: Date | null = null): Promise<string> => {
    const id = randomUUID();
    await db.domainEvent.create({ data: { id, orgId, sessionId: session, type, payload: { id }, publishedAt } });
    return id;
  };
  const deliveredTo = async (eventId: string): Promise<string[]> =>
    (await db.webhookDelivery.findMany({ where: { eventId }, select: { endpointId: true } })).map((row) => row.endpointId).sort();

  it('creates one pending delivery, due at the given time, per enabled endpoint of the organization that wants the type and the session', async () => {
    const eventId = await newEvent('message.revoked', sessionId);
    const now = new Date('2026-09-09T09:09:09.999Z');
    const firstAttemptAt = new Date('2026-09-09T09:09:40.999Z');
    const pass = await events.fanOutNext(10, { now, firstAttemptAt });
    expect(pass.held).toBe(true);
    expect(pass.events.map((event) => event.eventId)).toEqual([eventId]);
    const [event] = pass.events;
    expect(event?.deliveryIds.sort()).toEqual((await db.webhookDelivery.findMany({ where: { eventId }, select: { id: true } })).map((row) => row.id).sort());
    expect(await deliveredTo(eventId)).toEqual([wanted['everySession'], wanted['thisSession']].sort());
    expect(await db.webhookDelivery.findMany({ where: { eventId } })).toEqual(expect.arrayContaining([expect.objectContaining({ status: 'pending', attempts: 0, nextAttemptAt: firstAttemptAt, createdAt: now })]));
    expect(event?.createdAt).toEqual((await db.domainEvent.findUniqueOrThrow({ where: { id: eventId } })).createdAt);
    // The cursor moved past it: the next pass reads nothing.
    expect((await events.fanOutNext(10)).events).toEqual([]);
  });

  it('sends an event without a session to every endpoint that wants its type, session-scoped ones included', async () => {
    const eventId = await newEvent('message.revoked', null);
    await events.fanOutNext(10);
    expect(await deliveredTo(eventId)).toEqual([wanted['everySession'], wanted['thisSession'], wanted['otherSession']].sort());
  });

  it('passes an event no endpoint wants, and one delivered outside the fan-out (a test ping), creating nothing', async () => {
    const unwanted = await newEvent('webhook.test', sessionId);
    const ping = await newEvent('message.revoked', sessionId, new Date());
    expect((await events.fanOutNext(10)).events).toEqual([
      expect.objectContaining({ eventId: unwanted, deliveryIds: [] }),
      expect.objectContaining({ eventId: ping, deliveryIds: [] }),
    ]);
    expect(await deliveredTo(ping)).toEqual([]);
  });

  it('reads in commit-safe order, at most `limit` at a time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await newEvent('message.received', sessionId));
    const first = await events.fanOutNext(3);
    const second = await events.fanOutNext(3);
    expect([...first.events, ...second.events].map((event) => event.eventId)).toEqual(ids);
    expect(first.events).toHaveLength(3);
  });

  it('does not pass an event whose transaction is still open when a later one commits: it is read once it commits', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const early = randomUUID();
    // The early event's transaction takes its id first and commits last.
    const slow = db.$transaction(async (tx) => {
      await tx.domainEvent.create({ data: { id: early, orgId, sessionId, type: 'message.received', payload: {} } });
      opened();
      await held;
    });
    await isOpen;
    const late = await newEvent('message.received', sessionId);
    expect((await events.fanOutNext(10)).events).toEqual([]);
    release();
    await slow;
    expect((await events.fanOutNext(10)).events.map((event) => event.eventId)).toEqual([early, late]);
    expect(await deliveredTo(early)).toEqual([wanted['everySession']]);
  });

  it('fans each event out once when dispatchers race: one holds the pass, the others read nothing', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) ids.push(await newEvent('message.received', sessionId));
    const passes = await Promise.all([1, 2, 3, 4].map(() => events.fanOutNext(500)));
    const read = passes.flatMap((pass) => pass.events.map((event) => event.eventId));
    expect(read.sort()).toEqual([...ids].sort());
    expect(passes.filter((pass) => pass.events.length > 0)).toHaveLength(1);
    for (const id of ids) expect(await deliveredTo(id)).toEqual([wanted['everySession']]);
  });
});
