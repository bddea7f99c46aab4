import type { Algorithm } from 'jsonwebtoken';
import type { ClaimNames } from './jwt-claims.js';

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

export interface JwtVerification {
  jwksUrl: string;
  issuer?: string | undefined;
  audience?: string | undefined;
  algorithms: Algorithm[];
  claims: ClaimNames;
  jwksRequestsPerMinute: number;
  jwksCacheMaxAgeMs: number;
}

export interface AuthOptions {
  /** Null: login JWTs are not accepted, only API keys. */
  jwt: JwtVerification | null;
}
