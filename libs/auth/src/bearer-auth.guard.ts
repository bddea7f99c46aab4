import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import passport from 'passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, type Principal } from '@wagw/contracts';
import { IS_PUBLIC } from '@wagw/http';
import { bearerToken } from './bearer-token.js';
import { API_KEY_STRATEGY } from './strategies/api-key.strategy.js';
import { JWT_STRATEGY } from './strategies/jwt.strategy.js';

type AuthenticatedRequest = FastifyRequest & { user?: Principal };

/**
 * `Authorization: Bearer <token>`, tried first as a login JWT, then as an API key (the strategies
 * AuthModule registers with passport). Every failure is a 401; past the header's shape, the reason is
 * not the caller's business. On success the request carries the principal, and every later log line
 * of it names the organization.
 */
export async function authenticateRequest(request: AuthenticatedRequest, reply: FastifyReply): Promise<Principal> {
  if (request.user) return request.user;
  const header = request.headers.authorization;
  if (header === undefined) throw new GatewayError('unauthorized', 'missing Authorization header (expected: Bearer <token>)');
  if (bearerToken(header) === null) throw new GatewayError('unauthorized', 'malformed Authorization header (expected: Bearer <token>)');
  const principal = await new Promise<Principal | false>((resolve, reject) => {
    const authenticate = passport.authenticate([JWT_STRATEGY, API_KEY_STRATEGY], { session: false }, (error: unknown, user: Principal | false | undefined) => {
      if (error instanceof GatewayError) reject(error);
      else resolve(error ? false : (user ?? false));
    }) as (request: unknown, response: unknown, next: (error?: unknown) => void) => void;
    authenticate(request, reply, (error) => (error ? reject(error) : resolve(false)));
  });
  if (!principal) throw new GatewayError('unauthorized', 'invalid, expired or revoked token');
  request.user = principal;
  // Fastify writes the request's closing line through the reply's logger: both get the fields.
  const log = request.log.child({ orgId: principal.orgId, principal: `${principal.kind}:${principal.subject}` });
  request.log = log;
  reply.log = log;
  return principal;
}

/**
 * Global guard: every route needs a bearer token unless marked `@Public()`. Under the API prefix the
 * gateway has authenticated the request already, before reading its body (see
 * `authenticateBeforeBody`); this guard is the rule for every route, whatever its path.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const http = context.switchToHttp();
    await authenticateRequest(http.getRequest<AuthenticatedRequest>(), http.getResponse<FastifyReply>());
    return true;
  }
}

/**
 * An `onRequest` hook for the API's routes (none of them public): the caller is authenticated before
 * its body is read, so an unauthenticated caller learns 401 and nothing about what its body would have
 * been answered (413, 415, 400). CORS preflights carry no credentials and pass.
 */
export function authenticateBeforeBody(pathPrefix: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    if (request.method === 'OPTIONS' || !request.url.startsWith(pathPrefix)) return;
    await authenticateRequest(request, reply);
  };
}
