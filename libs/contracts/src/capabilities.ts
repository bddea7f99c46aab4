/** What a principal may do. API keys carry a fixed subset; login JWTs get theirs from the role. */
export const CAPABILITIES = ['send', 'read', 'sessions:manage', 'webhooks:manage', 'keys:manage'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_CAPABILITIES: Readonly<Record<Role, readonly Capability[]>> = {
  owner: CAPABILITIES,
  admin: CAPABILITIES,
  member: ['send', 'read'],
  viewer: ['read'],
};

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && (CAPABILITIES as readonly string[]).includes(value);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export type PrincipalKind = 'user' | 'api_key';

/** Who is calling, whichever way they authenticated. Every tenant-scoped call starts from `orgId`. */
export interface Principal {
  orgId: string;
  /** The user id from the login JWT, or the API key's id. */
  subject: string;
  kind: PrincipalKind;
  role?: Role;
  capabilities: readonly Capability[];
}
