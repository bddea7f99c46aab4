import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { ApiKeyAuthenticator } from './api-key-authenticator.js';
import { AUTH_OPTIONS, type AuthOptions } from './auth-options.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { CapabilityGuard, RouteAuthorizationCheck } from './capability.guard.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { KnownOrganizations } from './known-organizations.js';
import { ApiKeyStrategy } from './strategies/api-key.strategy.js';
import { LoginJwtStrategy } from './strategies/jwt.strategy.js';

/** Installs bearer authentication, capability checks and rate limits on every route of the importing app. */
@Module({})
export class AuthModule {
  static forRoot(options: AuthOptions): DynamicModule {
    return {
      module: AuthModule,
      imports: [PassportModule.register({ session: false }), DiscoveryModule],
      providers: [
        { provide: AUTH_OPTIONS, useValue: options },
        ApiKeyAuthenticator,
        KnownOrganizations,
        RouteAuthorizationCheck,
        LoginJwtStrategy,
        ApiKeyStrategy,
        // Order matters: authenticate first, then check the capability, then count the request.
        { provide: APP_GUARD, useClass: BearerAuthGuard },
        { provide: APP_GUARD, useClass: CapabilityGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
      exports: [ApiKeyAuthenticator],
    };
  }
}
