import type { Algorithm } from 'jsonwebtoken';
import type { ClaimNames } from './jwt-claims.js';

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

export interface JwtVerification {
  jwksUrl: string;
  issuer?: string | undefined;
  audience?: string | undefined;
  algorithms: Algorithm[];
  claims: ClaimNames;
  /** Fetches of the JWKS per minute for kids we do not have (and apart, for refreshing aged keys). */
  jwksRequestsPerMinute: number;
  jwksCacheMaxAgeMs: number;
  /** Longest a token may live from `iat` (or from now, without one) to `exp`. */
  maxLifetimeSeconds: number;
}

/** Requests per window; 0 turns that limit off. Reads (GET, HEAD) and writes are counted apart. */
export interface RateLimits {
  windowMs: number;
  perKey: { reads: number; writes: number };
  perOrg: { reads: number; writes: number };
}

export interface AuthOptions {
  /** Null: login JWTs are not accepted, only API keys. */
  jwt: JwtVerification | null;
  /** Null: no rate limits (tools and tests that build the module by hand). */
  rateLimits?: RateLimits | null;
}
