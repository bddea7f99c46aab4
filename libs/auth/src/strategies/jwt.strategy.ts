import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { decodeProtectedHeader } from 'jose';
import { ExtractJwt, Strategy, type SecretOrKeyProvider } from 'passport-jwt';
import type { Principal } from '@wagw/contracts';
import { AUTH_OPTIONS, type AuthOptions, type JwtVerification } from '../auth-options.js';
import { JwksKeyCache } from '../jwks-key-cache.js';
import { principalFromClaims, tokenLifetimeProblem } from '../jwt-claims.js';
import { KnownOrganizations } from '../known-organizations.js';

export const JWT_STRATEGY = 'login-jwt';

/** Never used for verification: it only keeps passport-jwt's constructor happy when JWTs are off. */
const DISABLED: JwtVerification = {
  jwksUrl: 'http://127.0.0.1:9/disabled',
  algorithms: ['RS256'],
  claims: { org: 'org_id', role: 'role', subject: 'sub' },
  jwksRequestsPerMinute: 1,
  jwksCacheMaxAgeMs: 60_000,
  maxLifetimeSeconds: 86_400,
};

/** Seconds a token's `exp`, `nbf` and `iat` may be off by: clocks of the frontend and ours differ. */
const CLOCK_TOLERANCE_S = 30;

/** passport-jwt asks for the key of each token: from the cache, by the token's `kid`. */
function keyProvider(cache: JwksKeyCache): SecretOrKeyProvider {
  return (_request, rawJwtToken, done) => {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(String(rawJwtToken)).kid;
    } catch {
      done(new Error('not a JWT'));
      return;
    }
    cache.keyFor(kid).then(
      (key) => (key === null ? done(new Error('no JWKS key for this token')) : done(null, key)),
      (error: unknown) => done(error),
    );
  };
}

/**
 * Login JWTs minted by the tenant's frontend, verified against its JWKS: keys cached so that no caller
 * can deny them to others (see JwksKeyCache), algorithms pinned (so `none` and HS256-with-the-public-key
 * are refused), issuer and audience checked when configured, and every token must expire, within
 * `maxLifetimeSeconds` of being issued.
 */
@Injectable()
export class LoginJwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  private readonly enabled: boolean;
  private readonly verification: JwtVerification;

  constructor(
    @Inject(AUTH_OPTIONS) options: AuthOptions,
    private readonly knownOrganizations: KnownOrganizations,
  ) {
    const verification = options.jwt ?? DISABLED;
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: keyProvider(
        new JwksKeyCache({
          url: verification.jwksUrl,
          maxAgeMs: verification.jwksCacheMaxAgeMs,
          refetchIntervalMs: Math.ceil(60_000 / verification.jwksRequestsPerMinute),
          timeoutMs: 5_000,
        }),
      ),
      algorithms: verification.algorithms,
      ...(verification.issuer === undefined ? {} : { issuer: verification.issuer }),
      ...(verification.audience === undefined ? {} : { audience: verification.audience }),
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: CLOCK_TOLERANCE_S },
    });
    this.enabled = options.jwt !== null;
    this.verification = verification;
  }

  async validate(payload: Record<string, unknown>): Promise<Principal | false> {
    if (!this.enabled) return false;
    if (tokenLifetimeProblem(payload, Math.floor(Date.now() / 1000), this.verification.maxLifetimeSeconds, CLOCK_TOLERANCE_S) !== null) return false;
    const principal = principalFromClaims(payload, this.verification.claims);
    if (principal === null) return false;
    return (await this.knownOrganizations.exists(principal.orgId)) ? principal : false;
  }
}
