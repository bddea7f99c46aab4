import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GatewayError, type Capability, type Principal } from '@wagw/contracts';
import { REQUIRED_CAPABILITY } from './decorators.js';

/** Runs after the bearer guard: the route's `@RequireCapability` must be among the principal's. */
@Injectable()
export class CapabilityGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<Capability | undefined>(REQUIRED_CAPABILITY, [context.getHandler(), context.getClass()]);
    if (required === undefined) return true;
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (!principal?.capabilities.includes(required)) {
      throw new GatewayError('forbidden', `this action needs the '${required}' capability`, { required });
    }
    return true;
  }
}
