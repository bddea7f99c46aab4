import { randomUUID } from 'node:crypto';
import { CAPABILITIES, type Capability, type Role } from '@wagw/contracts';
import { ApiKeysRepository, type DbClient } from '@wagw/db';
import { OrganizationProvisioningRepository } from '@wagw/db/system';
import { generateApiKey } from '@wagw/auth';
import type { TestJwks } from './test-jwks.js';

export interface TestTenant {
  orgId: string;
  userId: string;
  apiKey: string;
  apiKeyId: string;
  /** A login JWT for a user of this org with the given role. */
  loginJwt(role: Role): Promise<string>;
  /** Another API key of this org with exactly these capabilities. */
  createApiKey(capabilities: readonly Capability[]): Promise<{ key: string; id: string }>;
}

/** A fresh organization with an all-capability API key: tests never share or truncate rows. */
export async function createTestTenant(db: DbClient, jwks?: TestJwks, name = `test-org-${randomUUID().slice(0, 8)}`): Promise<TestTenant> {
  const organizations = new OrganizationProvisioningRepository(db);
  const apiKeys = new ApiKeysRepository(db);
  const org = await organizations.create(name);
  const userId = `user-${randomUUID()}`;
  const createApiKey = async (capabilities: readonly Capability[]): Promise<{ key: string; id: string }> => {
    const generated = generateApiKey();
    const row = await apiKeys.create(org.id, { name: 'test key', prefix: generated.prefix, secretHash: generated.secretHash, capabilities, createdBy: userId });
    return { key: generated.key, id: row.id };
  };
  const full = await createApiKey(CAPABILITIES);
  return {
    orgId: org.id,
    userId,
    apiKey: full.key,
    apiKeyId: full.id,
    createApiKey,
    loginJwt: async (role) => {
      if (!jwks) throw new Error('createTestTenant was given no JWKS to sign with');
      return jwks.sign({ sub: userId, org_id: org.id, role });
    },
  };
}
