import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbClient } from '../prisma-client.js';
import { compareStreamPositions, EventStreamRepository, MAX_EVENT_ID, type EventStreamCursor } from './event-stream.repository.js';
import { OrganizationProvisioningRepository } from './system/organization-provisioning.repository.js';

const INSERT_EVENT = `INSERT INTO domain_events (id, org_id, type, payload, created_at) VALUES ($1::uuid, $2::uuid, 'session.status', $3::jsonb, now())`;

describe('the event stream reads committed events in a final order (real Postgres)', () => {
  const databaseUrl = inject('databaseUrl');
  const db = createDbClient({ databaseUrl, poolSize: 2 });
  const stream = new EventStreamRepository(db);
  const writer = new pg.Client({ connectionString: databaseUrl });
  const slowWriter = new pg.Client({ connectionString: databaseUrl });
  let orgId: string;
  let otherOrgId: string;

  beforeAll(async () => {
    const provisioning = new OrganizationProvisioningRepository(db);
    orgId = (await provisioning.create('streamed')).id;
    otherOrgId = (await provisioning.create('not streamed')).id;
    await Promise.all([writer.connect(), slowWriter.connect()]);
  });
  afterAll(async () => {
    await Promise.all([writer.end(), slowWriter.end()]);
    await db.$disconnect();
  });

  async function readAll(from: EventStreamCursor): Promise<string[]> {
    return (await stream.readAfter(orgId, from, 100)).map((event) => event.id);
  }

  it('an event committed after a later-started one is not skipped: nothing past a running transaction is read', async () => {
    const head = await stream.head();
    const early = randomUUID();
    const late = randomUUID();
    // The slow writer's transaction starts (and takes its id) first and commits last.
    await slowWriter.query('BEGIN');
    await slowWriter.query(INSERT_EVENT, [early, orgId, JSON.stringify({ n: 'early' })]);
    await writer.query(INSERT_EVENT, [late, orgId, JSON.stringify({ n: 'late' })]);

    // A reader that took the committed `late` now would move its cursor past `early`.
    expect(await readAll(head)).toEqual([]);

    await slowWriter.query('COMMIT');
    const events = await stream.readAfter(orgId, head, 100);
    expect(events.map((event) => event.id)).toEqual([early, late]);
    expect(events[0]?.payload).toEqual({ n: 'early' });

    const afterEarly = await stream.positionOf(orgId, early);
    expect(afterEarly).not.toBeNull();
    expect(await readAll(afterEarly!)).toEqual([late]);
    expect(await readAll({ txId: events[1]!.txId, eventId: late })).toEqual([]);
  });

  it('is scoped to the organization: another organization\'s events and ids are not seen', async () => {
    const head = await stream.head();
    const theirs = randomUUID();
    await writer.query(INSERT_EVENT, [theirs, otherOrgId, '{}']);
    expect(await readAll(head)).toEqual([]);
    expect(await stream.positionOf(orgId, theirs)).toBeNull();
    expect(await stream.positionOf(otherOrgId, theirs)).not.toBeNull();
  });

  it('a subscriber starting now reads what commits from now on, and events of one transaction in id order', async () => {
    await writer.query(INSERT_EVENT, [randomUUID(), orgId, '{}']);
    const head = await stream.head();
    expect(head.eventId).toBe(MAX_EVENT_ID);
    expect(await readAll(head)).toEqual([]);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await writer.query('BEGIN');
    for (const id of ids) await writer.query(INSERT_EVENT, [id, orgId, '{}']);
    await writer.query('COMMIT');
    expect(await readAll(head)).toEqual([...ids].sort());
  });

  it('orders positions by transaction, then event id', () => {
    expect(compareStreamPositions({ txId: '9', eventId: MAX_EVENT_ID }, { txId: '10', eventId: '0' })).toBe(-1);
    expect(compareStreamPositions({ txId: '10', eventId: 'b' }, { txId: '10', eventId: 'a' })).toBe(1);
    expect(compareStreamPositions({ txId: '10', eventId: 'a' }, { txId: '10', eventId: 'a' })).toBe(0);
  });
});
