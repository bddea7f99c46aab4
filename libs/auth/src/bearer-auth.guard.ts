import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { GatewayError, type Principal } from '@wagw/contracts';
import { IS_PUBLIC } from '@wagw/http';
import { bearerToken } from './bearer-token.js';
import { API_KEY_STRATEGY } from './strategies/api-key.strategy.js';
import { JWT_STRATEGY } from './strategies/jwt.strategy.js';

/**
 * Global guard: every route needs `Authorization: Bearer <token>`, tried first as a login JWT, then as an
 * API key, unless marked `@Public()`. Every failure is the same 401: the reason is not the caller's business.
 */
@Injectable()
export class BearerAuthGuard extends AuthGuard([JWT_STRATEGY, API_KEY_STRATEGY]) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    if (header === undefined) throw new GatewayError('unauthorized', 'missing Authorization header (expected: Bearer <token>)');
    if (bearerToken(header) === null) throw new GatewayError('unauthorized', 'malformed Authorization header (expected: Bearer <token>)');
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<TUser = Principal>(error: unknown, principal: TUser | false): TUser {
    if (error instanceof GatewayError) throw error;
    if (error || !principal) throw new GatewayError('unauthorized', 'invalid, expired or revoked token');
    return principal;
  }
}
