import type { JwtEnv } from '@wagw/config';
import type { AuthOptions } from './auth-options.js';

export function authOptionsFromEnv(env: JwtEnv): AuthOptions {
  if (env.AUTH_JWKS_URL === undefined) return { jwt: null };
  return {
    jwt: {
      jwksUrl: env.AUTH_JWKS_URL,
      issuer: env.AUTH_JWT_ISSUER,
      audience: env.AUTH_JWT_AUDIENCE,
      algorithms: env.AUTH_JWT_ALGORITHMS,
      claims: { org: env.AUTH_CLAIM_ORG, role: env.AUTH_CLAIM_ROLE, subject: env.AUTH_CLAIM_SUBJECT },
      jwksRequestsPerMinute: env.AUTH_JWKS_REQUESTS_PER_MINUTE,
      jwksCacheMaxAgeMs: env.AUTH_JWKS_CACHE_MAX_AGE_MS,
    },
  };
}
