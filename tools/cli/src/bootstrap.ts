import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CAPABILITIES } from '@wagw/contracts';
import { ApiKeysRepository, OrganizationsRepository, createDbClient } from '@wagw/db';
import { OrganizationProvisioningRepository } from '@wagw/db/system';
import { generateApiKey } from '@wagw/auth';
import { BOOTSTRAP_FILE } from './paths.js';

/** Where `npm start -- --demo`'s emulator and webhook sink listen (absent outside demo mode). */
export interface DemoEndpoints {
  emulatorControlUrl: string;
  webhookSinkUrl: string;
}

export interface Bootstrap {
  apiUrl: string;
  orgId: string;
  apiKey: string;
  demo?: DemoEndpoints;
}

/**
 * On first run: an organization and an owner API key, written to `.data/bootstrap.json` (0600) for scripts.
 * Returns `created: false` when the file exists and its organization is still in the database.
 */
export async function ensureBootstrap(databaseUrl: string, apiUrl: string, demo?: DemoEndpoints): Promise<{ bootstrap: Bootstrap; created: boolean }> {
  const db = createDbClient({ databaseUrl, poolSize: 1 });
  try {
    if (existsSync(BOOTSTRAP_FILE)) {
      const existing = JSON.parse(readFileSync(BOOTSTRAP_FILE, 'utf8')) as Bootstrap;
      if (await new OrganizationsRepository(db).findById(existing.orgId)) {
        const { demo: _earlierDemo, ...kept } = existing;
        const bootstrap: Bootstrap = { ...kept, apiUrl, ...(demo ? { demo } : {}) };
        writeFileSync(BOOTSTRAP_FILE, `${JSON.stringify(bootstrap, null, 2)}\n`, { mode: 0o600 });
        return { bootstrap, created: false };
      }
    }
    const org = await new OrganizationProvisioningRepository(db).create('Default organization');
    const key = generateApiKey();
    await new ApiKeysRepository(db).create(org.id, {
      name: 'bootstrap owner key',
      prefix: key.prefix,
      secretHash: key.secretHash,
      capabilities: CAPABILITIES,
      createdBy: 'bootstrap',
    });
    const bootstrap: Bootstrap = { apiUrl, orgId: org.id, apiKey: key.key, ...(demo ? { demo } : {}) };
    writeFileSync(BOOTSTRAP_FILE, `${JSON.stringify(bootstrap, null, 2)}\n`, { mode: 0o600 });
    return { bootstrap, created: true };
  } finally {
    await db.$disconnect();
  }
}

export function readBootstrap(): Bootstrap {
  if (!existsSync(BOOTSTRAP_FILE)) throw new Error(`${BOOTSTRAP_FILE} does not exist: run \`npm start\` once first`);
  return JSON.parse(readFileSync(BOOTSTRAP_FILE, 'utf8')) as Bootstrap;
}
