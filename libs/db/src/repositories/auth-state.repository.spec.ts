import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbClient } from '../prisma-client.js';
import { AuthStateRepository } from './auth-state.repository.js';
import { OrganizationProvisioningRepository } from './system/organization-provisioning.repository.js';
import { SessionsRepository } from './sessions.repository.js';

describe('AuthStateRepository: writes fenced by the owner epoch (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const auth = new AuthStateRepository(db);
  const sessions = new SessionsRepository(db);
  let orgId: string;
  let sessionId: string;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('fencing')).id;
    sessionId = (await sessions.create(orgId, { name: 's', createdBy: 'u' })).id;
    await sessions.claimAsOwner({ orgId, sessionId, epoch: 5 }, 'worker-new', {}, null);
  });
  afterAll(async () => db.$disconnect());

  it('accepts writes from the current epoch', async () => {
    expect(await auth.saveCreds(orgId, sessionId, 5, JSON.stringify({ me: 'new' }))).toBe(true);
    expect(await auth.setKeys(orgId, sessionId, 5, [{ type: 'pre-key', id: '1', json: '{"k":1}' }, { type: 'pre-key', id: '2', json: '{"k":2}' }])).toBe(true);
    expect(JSON.parse((await auth.loadCreds(orgId, sessionId)) ?? '{}')).toEqual({ me: 'new' });
    expect([...(await auth.getKeys(orgId, sessionId, 'pre-key', ['1', '2', '3'])).keys()].sort()).toEqual(['1', '2']);
  });

  it('refuses every write from a stale epoch and changes nothing', async () => {
    expect(await auth.saveCreds(orgId, sessionId, 4, JSON.stringify({ me: 'old' }))).toBe(false);
    expect(await auth.setKeys(orgId, sessionId, 4, [{ type: 'pre-key', id: '1', json: '{"k":"old"}' }, { type: 'pre-key', id: '2', json: null }])).toBe(false);
    expect(JSON.parse((await auth.loadCreds(orgId, sessionId)) ?? '{}')).toEqual({ me: 'new' });
    expect(await auth.getKeys(orgId, sessionId, 'pre-key', ['1', '2'])).toEqual(new Map([['1', '{"k": 1}'], ['2', '{"k": 2}']]));
  });

  it('applies upserts and deletes of one batch together', async () => {
    expect(await auth.setKeys(orgId, sessionId, 5, [{ type: 'session', id: 'a', json: '{"v":1}' }, { type: 'session', id: 'b', json: '{"v":1}' }])).toBe(true);
    expect(await auth.setKeys(orgId, sessionId, 5, [{ type: 'session', id: 'a', json: null }, { type: 'session', id: 'b', json: '{"v":2}' }, { type: 'session', id: 'c', json: '{"v":1}' }])).toBe(true);
    expect(await auth.getKeys(orgId, sessionId, 'session', ['a', 'b', 'c'])).toEqual(new Map([['b', '{"v": 2}'], ['c', '{"v": 1}']]));
  });

  it('writes nothing when a takeover bumps the epoch while the write waits for the session row', async () => {
    const takeover = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 1 });
    const raced = (await sessions.create(orgId, { name: 'raced', createdBy: 'u' })).id;
    await sessions.claimAsOwner({ orgId, sessionId: raced, epoch: 1 }, 'worker-a', {}, null);
    let write: Promise<boolean> | undefined;
    await takeover.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE whatsapp_sessions SET owner_epoch = 2, owner_worker_id = 'worker-b' WHERE id = ${raced}::uuid`;
      write = auth.setKeys(orgId, raced, 1, [{ type: 'session', id: 'x', json: '{"v":1}' }]);
      // The write is blocked on the row lock until this transaction commits.
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    expect(await write).toBe(false);
    expect((await auth.getKeys(orgId, raced, 'session', ['x'])).size).toBe(0);
    await takeover.$disconnect();
  });

  it('never lets the mirrored epoch go backwards', async () => {
    expect(await sessions.claimAsOwner({ orgId, sessionId, epoch: 3 }, 'worker-old', {}, null)).toBe(false);
    expect((await sessions.findById(orgId, sessionId))?.ownerEpoch).toBe(5n);
  });

  it('keeps organizations apart: another org reads nothing', async () => {
    const other = (await new OrganizationProvisioningRepository(db).create('other')).id;
    expect(await auth.loadCreds(other, sessionId)).toBeNull();
    expect((await auth.getKeys(other, sessionId, 'pre-key', ['1'])).size).toBe(0);
  });
});
