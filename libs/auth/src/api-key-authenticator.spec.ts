import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CAPABILITIES } from '@wagw/contracts';
import { ApiKeysRepository, createDbClient } from '@wagw/db';
import { OrganizationProvisioningRepository } from '@wagw/db/system';
import { API_KEY_ROW_REUSE_MS, ApiKeyAuthenticator } from './api-key-authenticator.js';
import { generateApiKey } from './api-key-secret.js';

/** The real repository, counting how often the authenticator reads a key's row. */
class CountingApiKeys extends ApiKeysRepository {
  reads = 0;
  override findForAuthentication(prefix: string): ReturnType<ApiKeysRepository['findForAuthentication']> {
    this.reads += 1;
    return super.findForAuthentication(prefix);
  }
}

describe('ApiKeyAuthenticator (real Postgres)', () => {
  const db = createDbClient({ databaseUrl: inject('databaseUrl'), poolSize: 2 });
  const apiKeys = new CountingApiKeys(db);
  let orgId: string;

  beforeAll(async () => {
    orgId = (await new OrganizationProvisioningRepository(db).create('authenticator')).id;
  });
  afterAll(async () => db.$disconnect());

  async function newKey(): Promise<{ key: string; id: string; prefix: string }> {
    const generated = generateApiKey();
    const row = await apiKeys.create(orgId, { name: 'k', prefix: generated.prefix, secretHash: generated.secretHash, capabilities: CAPABILITIES, createdBy: 'u' });
    return { key: generated.key, id: row.id, prefix: generated.prefix };
  }

  it("reads a key's row once per reuse window however many requests it serves, and checks the secret on each", async () => {
    const authenticator = new ApiKeyAuthenticator(apiKeys);
    const { key, id } = await newKey();
    const start = new Date();
    apiKeys.reads = 0;
    for (let n = 0; n < 50; n += 1) expect((await authenticator.authenticate(key, new Date(start.getTime() + n)))?.subject).toBe(id);
    expect(apiKeys.reads).toBe(1);
    // The right prefix with a wrong secret is refused, from the same row.
    expect(await authenticator.authenticate(`${key.slice(0, -4)}AAAA`, start)).toBeNull();
    expect(apiKeys.reads).toBe(1);
    await authenticator.authenticate(key, new Date(start.getTime() + API_KEY_ROW_REUSE_MS));
    expect(apiKeys.reads).toBe(2);
  });

  it('refuses a key revoked on another replica within the reuse window, and at once where it was revoked', async () => {
    const here = new ApiKeyAuthenticator(apiKeys);
    const elsewhere = new ApiKeyAuthenticator(apiKeys);
    const { key, id, prefix } = await newKey();
    const start = new Date();
    expect(await here.authenticate(key, start)).not.toBeNull();
    expect(await elsewhere.authenticate(key, start)).not.toBeNull();
    await apiKeys.revoke(orgId, id);
    here.forget(prefix);
    expect(await here.authenticate(key, start)).toBeNull();
    expect(await elsewhere.authenticate(key, new Date(start.getTime() + API_KEY_ROW_REUSE_MS))).toBeNull();
  });

  it('keeps nothing for a prefix that does not exist: each such request reads again', async () => {
    const authenticator = new ApiKeyAuthenticator(apiKeys);
    const { prefix } = generateApiKey();
    apiKeys.reads = 0;
    const madeUp = `${prefix}_${'A'.repeat(43)}`;
    expect(await authenticator.authenticate(madeUp)).toBeNull();
    expect(await authenticator.authenticate(madeUp)).toBeNull();
    expect(apiKeys.reads).toBe(2);
  });
});
