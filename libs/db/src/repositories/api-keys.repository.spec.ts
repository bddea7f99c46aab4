import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDbClient } from '../prisma-client.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { OrganizationProvisioningRepository } from './system/organization-provisioning.repository.js';

describe('ApiKeysRepository.touchLastUsed (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const keys = new ApiKeysRepository(db);
  let orgId: string;
  let keyId: string;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('last-used')).id;
    keyId = (await keys.create(orgId, { name: 'k', prefix: `p${Date.now().toString(16)}`, secretHash: 'x'.repeat(64), capabilities: ['read'], createdBy: 'u' })).id;
  });
  afterAll(async () => db.$disconnect());

  const stored = async (): Promise<Date | null> => (await db.apiKey.findUnique({ where: { id: keyId } }))?.lastUsedAt ?? null;

  it('writes the first use, and a use more than a minute after the last one', async () => {
    const first = new Date('2026-03-01T10:00:00Z');
    await keys.touchLastUsed(orgId, keyId, null, first);
    expect(await stored()).toEqual(first);
    const later = new Date('2026-03-01T10:01:30Z');
    await keys.touchLastUsed(orgId, keyId, first, later);
    expect(await stored()).toEqual(later);
  });

  it('sends nothing when the caller read a use from within the last minute', async () => {
    await db.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date('2026-01-01T00:00:00Z') } });
    const now = new Date('2026-03-01T12:00:00Z');
    // Told the key was used 10 s ago, it does not write, even though the row says otherwise.
    await keys.touchLastUsed(orgId, keyId, new Date(now.getTime() - 10_000), now);
    expect(await stored()).toEqual(new Date('2026-01-01T00:00:00Z'));
  });
});
