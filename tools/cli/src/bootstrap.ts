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
  /** The key behind the latest dashboard sign-in link: revoked when the next link is made. */
  dashboardKeyId?: string;
  demo?: DemoEndpoints;
}

/** How long a dashboard sign-in link printed by `npm start` works. */
export const DASHBOARD_LINK_LIFETIME_MS = 12 * 60 * 60 * 1000;

/**
 * A sign-in link for the dashboard, made anew on every start: a key of the bootstrap organization with
 * every capability, expiring after DASHBOARD_LINK_LIFETIME_MS, carried in the URL's fragment (never sent
 * to a server, removed from the address bar on load). The previous run's link key is revoked.
 */
export async function mintDashboardSignInLink(databaseUrl: string, bootstrap: Bootstrap): Promise<string> {
  const db = createDbClient({ databaseUrl, poolSize: 1 });
  try {
    const keys = new ApiKeysRepository(db);
    if (bootstrap.dashboardKeyId) await keys.revoke(bootstrap.orgId, bootstrap.dashboardKeyId);
    const key = generateApiKey();
    const created = await keys.create(bootstrap.orgId, {
      name: 'dashboard sign-in link (npm start)',
      prefix: key.prefix,
      secretHash: key.secretHash,
      capabilities: CAPABILITIES,
      createdBy: 'bootstrap',
      expiresAt: new Date(Date.now() + DASHBOARD_LINK_LIFETIME_MS),
    });
    writeFileSync(BOOTSTRAP_FILE, `${JSON.stringify({ ...bootstrap, dashboardKeyId: created.id }, null, 2)}\n`, { mode: 0o600 });
    return `${bootstrap.apiUrl}/dashboard/#key=${encodeURIComponent(key.key)}`;
  } finally {
    await db.$disconnect();
  }
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
