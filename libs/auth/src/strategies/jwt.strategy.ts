import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { passportJwtSecret } from 'jwks-rsa';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { Principal } from '@wagw/contracts';
import { AUTH_OPTIONS, type AuthOptions, type JwtVerification } from '../auth-options.js';
import { principalFromClaims } from '../jwt-claims.js';
import { KnownOrganizations } from '../known-organizations.js';

export const JWT_STRATEGY = 'login-jwt';

/** Never used for verification: it only keeps passport-jwt's constructor happy when JWTs are off. */
const DISABLED: JwtVerification = {
  jwksUrl: 'http://127.0.0.1:9/disabled',
  algorithms: ['RS256'],
  claims: { org: 'org_id', role: 'role', subject: 'sub' },
  jwksRequestsPerMinute: 1,
  jwksCacheMaxAgeMs: 60_000,
};

/**
 * Login JWTs minted by the tenant's frontend, verified against its JWKS: keys cached, fetches for unknown
 * `kid`s rate-limited, algorithms pinned (so `none` and HS256-with-the-public-key are refused), issuer
 * and audience checked when configured.
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
      secretOrKeyProvider: passportJwtSecret({
        jwksUri: verification.jwksUrl,
        cache: true,
        cacheMaxAge: verification.jwksCacheMaxAgeMs,
        rateLimit: true,
        jwksRequestsPerMinute: verification.jwksRequestsPerMinute,
        timeout: 5_000,
      }),
      algorithms: verification.algorithms,
      ...(verification.issuer === undefined ? {} : { issuer: verification.issuer }),
      ...(verification.audience === undefined ? {} : { audience: verification.audience }),
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: 30 },
    });
    this.enabled = options.jwt !== null;
    this.verification = verification;
  }

  async validate(payload: Record<string, unknown>): Promise<Principal | false> {
    if (!this.enabled) return false;
    const principal = principalFromClaims(payload, this.verification.claims);
    if (principal === null) return false;
    return (await this.knownOrganizations.exists(principal.orgId)) ? principal : false;
  }
}
