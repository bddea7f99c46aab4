import { ROLE_CAPABILITIES, isRole, type Principal } from '@wagw/contracts';

export interface ClaimNames {
  org: string;
  role: string;
  subject: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads a claim by name; a dotted name (`app_metadata.org_id`) walks into nested objects. */
function claim(payload: Record<string, unknown>, name: string): unknown {
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The principal a verified login JWT describes, or null when its claims do not name an org, a role and a subject. */
export function principalFromClaims(payload: Record<string, unknown>, names: ClaimNames): Principal | null {
  const orgId = claim(payload, names.org);
  const role = claim(payload, names.role);
  const subject = claim(payload, names.subject);
  if (typeof orgId !== 'string' || !UUID.test(orgId)) return null;
  if (!isRole(role)) return null;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 255) return null;
  return { orgId: orgId.toLowerCase(), subject, kind: 'user', role, capabilities: ROLE_CAPABILITIES[role] };
}

/**
 * Why a signature-checked token's times are not acceptable, or null when they are. jsonwebtoken checks
 * that `exp` and `nbf` have been reached; it accepts a token without `exp` (one that never expires) and
 * an `iat` in the future (a token minted to outlive any lifetime check). Times are Unix seconds.
 */
export function tokenLifetimeProblem(payload: Record<string, unknown>, nowSeconds: number, maxLifetimeSeconds: number, toleranceSeconds: number): string | null {
  const { exp, iat, nbf } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'the token has no exp: it would never expire';
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) return 'iat is not a time';
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) return 'nbf is not a time';
  if (typeof iat === 'number' && iat > nowSeconds + toleranceSeconds) return 'iat is in the future';
  if (typeof nbf === 'number' && nbf > nowSeconds + toleranceSeconds) return 'nbf is in the future';
  const issuedAt = typeof iat === 'number' ? iat : nowSeconds;
  if (exp - issuedAt > maxLifetimeSeconds) return `the token lives longer than ${maxLifetimeSeconds} s`;
  return null;
}
