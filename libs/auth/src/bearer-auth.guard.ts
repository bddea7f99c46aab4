import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
    const allowed = (await super.canActivate(context)) as boolean;
    // From here on every log line of this request names the organization (the request id is there already).
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    if (request.user) {
      // Fastify writes the request's closing line through the reply's logger: both get the fields.
      const log = request.log.child({ orgId: request.user.orgId, principal: `${request.user.kind}:${request.user.subject}` });
      request.log = log;
      context.switchToHttp().getResponse<FastifyReply>().log = log;
    }
    return allowed;
  }

  override handleRequest<TUser = Principal>(error: unknown, principal: TUser | false): TUser {
    if (error instanceof GatewayError) throw error;
    if (error || !principal) throw new GatewayError('unauthorized', 'invalid, expired or revoked token');
    return principal;
  }
}
