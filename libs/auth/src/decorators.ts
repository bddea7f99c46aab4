import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Capability, Principal } from '@wagw/contracts';

export const REQUIRED_CAPABILITY = 'wagw:required-capability';

/** The capability a route needs; a principal without it gets 403 `forbidden`. */
export const RequireCapability = (capability: Capability): ClassDecorator & MethodDecorator =>
  SetMetadata(REQUIRED_CAPABILITY, capability);

/** The authenticated caller, set by the bearer guard. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const request = context.switchToHttp().getRequest<{ user?: Principal }>();
  if (!request.user) throw new Error('CurrentPrincipal used on a route without authentication');
  return request.user;
});
