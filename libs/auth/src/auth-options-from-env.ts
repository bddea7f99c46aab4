import type { JwtEnv, RateLimitEnv } from '@wagw/config';
import type { AuthOptions, RateLimits } from './auth-options.js';

function rateLimitsFromEnv(env: Partial<RateLimitEnv>): RateLimits | null {
  if (env.RATE_LIMIT_WINDOW_MS === undefined) return null;
  return {
    windowMs: env.RATE_LIMIT_WINDOW_MS,
    perKey: { reads: env.RATE_LIMIT_KEY_READS ?? 0, writes: env.RATE_LIMIT_KEY_WRITES ?? 0 },
    perOrg: { reads: env.RATE_LIMIT_ORG_READS ?? 0, writes: env.RATE_LIMIT_ORG_WRITES ?? 0 },
  };
}

export function authOptionsFromEnv(env: JwtEnv & Partial<RateLimitEnv>): AuthOptions {
  const rateLimits = rateLimitsFromEnv(env);
  if (env.AUTH_JWKS_URL === undefined) return { jwt: null, rateLimits };
  return {
    rateLimits,
    jwt: {
      jwksUrl: env.AUTH_JWKS_URL,
      issuer: env.AUTH_JWT_ISSUER,
      audience: env.AUTH_JWT_AUDIENCE,
      algorithms: env.AUTH_JWT_ALGORITHMS,
      claims: { org: env.AUTH_CLAIM_ORG, role: env.AUTH_CLAIM_ROLE, subject: env.AUTH_CLAIM_SUBJECT },
      jwksRequestsPerMinute: env.AUTH_JWKS_REQUESTS_PER_MINUTE,
      jwksCacheMaxAgeMs: env.AUTH_JWKS_CACHE_MAX_AGE_MS,
      maxLifetimeSeconds: env.AUTH_JWT_MAX_LIFETIME_S,
    },
  };
}
