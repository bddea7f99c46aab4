import { GatewayError, type Capability, type Principal } from '@wagw/contracts';
import { auditActor, type ApiKeyListing, type ApiKeysRepository } from '@wagw/db';
import { generateApiKey } from './api-key-secret.js';

const DAY_MS = 86_400_000;
/** Keys may be given an expiry up to ten years out; longer is "never", which is the default. */
export const MAX_API_KEY_LIFETIME_MS = 10 * 366 * DAY_MS;

export interface NewApiKeyRequest {
  name: string;
  capabilities: readonly Capability[];
  /** Null: the key never expires. */
  expiresAt: Date | null;
}

/** Capabilities in `wanted` that `principal` does not hold: granting or revoking those would be an escalation. */
function notHeld(principal: Principal, wanted: readonly string[]): string[] {
  return wanted.filter((capability) => !principal.capabilities.includes(capability as Capability));
}

/**
 * An organization's API keys as its administrators manage them. A caller can neither grant nor revoke
 * a capability it does not hold, and each change is written with its audit entry in one transaction.
 */
export class ApiKeysService {
  constructor(
    private readonly apiKeys: ApiKeysRepository,
    /** Told of each revocation, so that this gateway refuses the key at once (others within a second). */
    private readonly onRevoked: (prefix: string) => void = () => undefined,
  ) {}

  /** The new key's listing and its secret, which exists only in this answer (the gateway keeps its hash). */
  async create(principal: Principal, request: NewApiKeyRequest, now = Date.now()): Promise<{ listing: ApiKeyListing; key: string }> {
    const escalation = notHeld(principal, request.capabilities);
    if (escalation.length > 0) throw new GatewayError('forbidden', 'a key can only be given capabilities its creator holds', { notHeld: escalation });
    const expiresAt = request.expiresAt?.getTime();
    if (expiresAt !== undefined && (expiresAt <= now || expiresAt > now + MAX_API_KEY_LIFETIME_MS)) {
      throw new GatewayError('validation_failed', 'invalid body', { fields: { expiresAt: 'must be in the future and at most ten years away' } });
    }
    const generated = generateApiKey();
    const listing = await this.apiKeys.create(
      principal.orgId,
      { name: request.name, prefix: generated.prefix, secretHash: generated.secretHash, capabilities: request.capabilities, createdBy: principal.subject, expiresAt: request.expiresAt },
      (row) => ({ ...auditActor(principal), action: 'api_key.created', targetType: 'api_key', targetId: row.id, details: { name: row.name, prefix: row.prefix, capabilities: row.capabilities } }),
    );
    return { listing, key: generated.key };
  }

  /** Effective at once on this gateway, and within API_KEY_ROW_REUSE_MS on every other. */
  async revoke(principal: Principal, id: string): Promise<void> {
    const key = await this.apiKeys.findById(principal.orgId, id);
    if (!key) throw new GatewayError('not_found', 'API key not found', { key: id });
    if (key.revokedAt !== null) throw new GatewayError('conflict', 'the key is already revoked', { key: id, revokedAt: key.revokedAt.toISOString() });
    const escalation = notHeld(principal, key.capabilities);
    if (escalation.length > 0) {
      throw new GatewayError('forbidden', 'a key with capabilities you do not hold can only be revoked by someone who holds them', { notHeld: escalation });
    }
    const revoked = await this.apiKeys.revoke(principal.orgId, id, { ...auditActor(principal), action: 'api_key.revoked', targetType: 'api_key', targetId: id, details: { name: key.name, prefix: key.prefix } });
    if (!revoked) throw new GatewayError('conflict', 'the key is already revoked', { key: id });
    this.onRevoked(key.prefix);
  }
}
